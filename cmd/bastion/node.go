package main

import (
	"context"
	"maps"

	"github.com/bastion-ssh/bastion/server"
	"github.com/bastion-ssh/bastion/store"
)

// nodeStore names this bastion (config node) in every audit event it
// passes on, as detail "node": when several bastions share one audit trail,
// each event says where it happened. It sits after the masking wrapper, so
// the name is kept as configured.
type nodeStore struct {
	server.Store
	node string
}

var _ server.Store = nodeStore{}

func (s nodeStore) Audit(ctx context.Context, e store.Event) error {
	return s.Store.Audit(ctx, s.nameNode(e))
}

// nameNode is e with this node named in its detail, as Audit writes it.
func (s nodeStore) nameNode(e store.Event) store.Event {
	d := make(map[string]any, len(e.Detail)+1)
	maps.Copy(d, e.Detail) // the caller's map is left as it was
	d["node"] = s.node
	e.Detail = d
	return e
}
