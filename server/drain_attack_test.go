package server

import (
	"context"
	"strings"
	"testing"

	"github.com/bastion-ssh/bastion/store"
)

// A connection kept open through a drain (a ControlMaster) cannot start
// new work by another channel type either: a forwarding channel opened
// while the bastion drains is refused, and the refusal audited.
func TestAttackDrainForwardRefusedOnOpenConnection(t *testing.T) {
	b := startTestBastion(t, nil)
	busy := b.dial(t, "alice@example.com", "demo@demo")
	running, _ := startLong(t, busy)

	deadline, expire := context.WithCancel(context.Background())
	shutdown := make(chan error, 1)
	go func() { shutdown <- b.server.Shutdown(deadline) }()
	defer func() { expire(); <-running; <-shutdown }()
	waitFor(t, b.server.Draining)

	if c, err := busy.Dial("tcp", "127.0.0.1:22"); err == nil {
		c.Close()
		t.Fatal("a forwarding channel opened during the drain")
	}
	var denied []store.Event
	for _, e := range b.store.eventsOf("forward.direct-tcpip") {
		if e.Outcome != store.OutcomeDenied || !strings.Contains(e.Reason, "shutting down") {
			t.Errorf("forward event %+v, want denied for the shutdown", e)
		}
		denied = append(denied, e)
	}
	if len(denied) != 1 {
		t.Errorf("%d forward events, want the refusal audited once", len(denied))
	}
}
