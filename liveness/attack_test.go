package liveness

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/store"
)

// What a client can do reaches the store only as session rows and audit
// events, with fields it chose (login, target, command). A flood of them
// on node A, crafted to look like node names and SQL, does not make A
// look dead to node B: over three bounds of A beating under the flood, B
// marks nothing. Once A stops (it is killed), B ends A's open session, once.
func TestClientCannotMakeALiveNodeDead(t *testing.T) {
	forEachBackend(t, testClientCannotMakeALiveNodeDead)
}

func testClientCannotMakeALiveNodeDead(t *testing.T, open func() *store.Store) {
	sa, sb := open(), open()
	const bound = 3 * time.Second
	ctx := t.Context()
	a, err := Claim(ctx, Config{Node: "node-a", Store: sa, StaleAfter: bound})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Claim(ctx, Config{Node: "node-b", Store: sb, StaleAfter: bound})
	if err != nil {
		t.Fatal(err)
	}
	openSession(t, sa, "held-open", "node-a")
	actx, killA := context.WithCancel(ctx)
	bctx, stopB := context.WithCancel(ctx)
	var nodes, flood sync.WaitGroup
	defer nodes.Wait()
	defer stopB()
	defer killA()
	nodes.Go(func() { a.Run(actx) })
	nodes.Go(func() { b.Run(bctx) })

	// Each flood session ends before the flood stops: only held-open is
	// left open when node A dies.
	var stopping atomic.Bool
	for w := range 4 {
		flood.Go(func() {
			for i := 0; !stopping.Load(); i++ {
				id := fmt.Sprintf("flood-%d-%d", w, i)
				x := store.Session{ID: id, ConnID: id, Identity: "mallory@example.com", SourceAddr: "198.51.100.9:4000",
					Target: "node-b", Login: "node-a'; UPDATE nodes SET beat_ms = 0; --", Kind: "exec",
					Command: "ended_by=node-b status=incomplete", StartedAt: time.Now(), Node: "node-a"}
				if sa.CreateSession(ctx, x) != nil {
					continue
				}
				sa.Audit(ctx, store.Event{Type: "session.start", Outcome: store.OutcomeAllowed, SessionID: id,
					Identity: x.Identity, Target: x.Target, Login: x.Login, Reason: x.Command})
				sa.EndSession(ctx, id, store.SessionEnd{At: time.Now(), Reason: "exit"})
			}
		})
	}
	first, err := sa.Node(ctx, "node-a")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node A beating for three bounds under the flood", func() bool {
		row, err := sa.Node(ctx, "node-a")
		return err == nil && row.Beat.Sub(first.Beat) > 3*bound
	})
	stopping.Store(true)
	flood.Wait()
	if evs := incompleteEvents(t, sb); len(evs) != 0 {
		t.Fatalf("a live node's sessions were marked: %+v", evs)
	}
	if got, _ := sb.Session(ctx, "held-open"); got.Status != store.StatusRunning {
		t.Fatalf("a live node's session: %+v", got)
	}

	killA()
	waitFor(t, "node B to end the dead node's session", func() bool {
		got, err := sb.Session(ctx, "held-open")
		return err == nil && got.Status == store.StatusIncomplete
	})
	got, _ := sb.Session(ctx, "held-open")
	evs := incompleteEvents(t, sb)
	if got.EndedBy != "node-b" || len(evs) != 1 || len(evs["held-open"]) != 1 || evs["held-open"][0].Identity != "alice@example.com" {
		t.Errorf("after node A died: %+v, events %+v", got, evs)
	}
}
