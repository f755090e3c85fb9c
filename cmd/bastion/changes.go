package main

import (
	"context"

	"github.com/bastion-ssh/bastion/store"
)

// The parts of a running bastion that act on a decision written to the
// store by another process: the approvals broker (approvals.Broker) and
// the front server's revocation sweep (server.Server).
type (
	approvalWaiters interface{ Changed(approvalID string) }
	sweeper         interface{ Recheck() }
)

// followChanges passes the store's change feed on until ctx ends: an
// approval decided on another node releases or refuses the command held
// here at once, and a revocation issued on another node ends the sessions
// it covers here at once, not at the next sweep. Without a feed both
// still happen, at the broker's poll and the sweep's tick.
func followChanges(ctx context.Context, st *store.Store, approvals approvalWaiters, sweep sweeper) {
	for c := range st.Changes(ctx) {
		switch c.Kind {
		case store.ChangeApproval:
			approvals.Changed(c.ID)
		case store.ChangeRevocation:
			sweep.Recheck()
		default:
			approvals.Changed("")
			sweep.Recheck()
		}
	}
}
