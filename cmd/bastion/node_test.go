package main

import (
	"context"
	"testing"

	"github.com/bastion-ssh/bastion/store"
)

// eventSink keeps the audit events written to it.
type eventSink struct{ events []store.Event }

func (s *eventSink) CreateSession(context.Context, store.Session) error         { return nil }
func (s *eventSink) EndSession(context.Context, string, store.SessionEnd) error { return nil }
func (s *eventSink) Audit(_ context.Context, e store.Event) error {
	s.events = append(s.events, e)
	return nil
}

func TestNodeStoreNamesTheNode(t *testing.T) {
	sink := &eventSink{}
	trail := nodeStore{Store: sink, node: "bastion-a"}
	mine := map[string]any{"node": "forged", "count": 2}
	for _, e := range []store.Event{{Type: "bastion.start"}, {Type: "session.start", Detail: mine}} {
		if err := trail.Audit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range sink.events {
		if e.Detail["node"] != "bastion-a" {
			t.Errorf("%s: detail %v, want node bastion-a", e.Type, e.Detail)
		}
	}
	if sink.events[1].Detail["count"] != 2 || mine["node"] != "forged" {
		t.Errorf("the caller's detail was lost or changed: %v, %v", sink.events[1].Detail, mine)
	}
}
