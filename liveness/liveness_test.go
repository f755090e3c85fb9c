package liveness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/internal/pgtest"
	"github.com/bastion-ssh/bastion/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

// forEachBackend runs fn on a new SQLite database and a new PostgreSQL
// one; open opens another store (another node) on the same database.
func forEachBackend(t *testing.T, fn func(t *testing.T, open func() *store.Store)) {
	for _, be := range []struct {
		name  string
		fresh func(t *testing.T) store.Config
	}{
		{"sqlite", func(t *testing.T) store.Config {
			return store.Config{SQLitePath: filepath.Join(t.TempDir(), "bastion.db")}
		}},
		{"postgres", func(t *testing.T) store.Config {
			return store.Config{PostgresDSN: pgtest.Shared(t).NewDatabase(t), DataDir: t.TempDir()}
		}},
	} {
		t.Run(be.name, func(t *testing.T) {
			c := be.fresh(t)
			fn(t, func() *store.Store {
				s, err := store.Connect(t.Context(), c)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			})
		})
	}
}

func openSession(t *testing.T, s *store.Store, id, node string) {
	t.Helper()
	if err := s.CreateSession(t.Context(), store.Session{ID: id, ConnID: "c-" + id, Identity: "alice@example.com",
		SourceAddr: "192.0.2.7:5000", Target: "db", Login: "root", Kind: "shell", StartedAt: time.Now(), Node: node}); err != nil {
		t.Fatal(err)
	}
}

func incompleteEvents(t *testing.T, s *store.Store) map[string][]store.Event {
	t.Helper()
	evs, err := s.Events(t.Context(), store.EventFilter{Type: EventIncomplete})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]store.Event{}
	for _, e := range evs {
		out[e.SessionID] = append(out[e.SessionID], e)
	}
	return out
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// A node started again after it was killed ends, before it serves, the
// sessions its previous life left open: each once, audited as the user's,
// naming the node. Another node's sessions are left alone.
func TestClaimEndsPreviousLife(t *testing.T) { forEachBackend(t, testClaimEndsPreviousLife) }

func testClaimEndsPreviousLife(t *testing.T, open func() *store.Store) {
	s := open()
	ctx := t.Context()
	if err := s.ClaimNode(ctx, store.NodeRow{Name: "node-a", Instance: "previous-life", Host: "h1", PID: 4242}); err != nil {
		t.Fatal(err)
	}
	openSession(t, s, "a1", "node-a")
	openSession(t, s, "a2", "node-a")
	openSession(t, s, "b1", "node-b")
	n, err := Claim(ctx, Config{Node: "node-a", Store: s, Host: "h1", PID: 99, Alive: func(pid int) bool { return pid != 4242 }})
	if err != nil {
		t.Fatal(err)
	}
	events := incompleteEvents(t, s)
	for _, id := range []string{"a1", "a2"} {
		got, _ := s.Session(ctx, id)
		if got.Status != store.StatusIncomplete || got.EndedBy != "node-a" ||
			!regexpMatch(`^node node-a stopped heartbeating at \S+ and started again$`, got.EndReason) {
			t.Errorf("%s after the restart: %+v", id, got)
		}
		if evs := events[id]; len(evs) != 1 || evs[0].Reason != ReasonRestarted || evs[0].Identity != "alice@example.com" ||
			evs[0].Target != "db" || evs[0].Detail["session_node"] != "node-a" || evs[0].Detail["marked_by"] != "node-a" ||
			evs[0].Detail["last_heartbeat"] == nil {
			t.Errorf("%s events: %+v", id, evs)
		}
	}
	if got, _ := s.Session(ctx, "b1"); got.Status != store.StatusRunning || len(events["b1"]) != 0 {
		t.Errorf("another node's session: %+v", got)
	}
	if row, _ := s.Node(ctx, "node-a"); row.Instance != n.instance || row.Host != "h1" || row.PID != 99 {
		t.Errorf("the name's row after the claim: %+v", row)
	}
}

// A second process under a name that a live node beats under is refused,
// and the live node's sessions are not touched.
func TestClaimRefusesLiveHolder(t *testing.T) { forEachBackend(t, testClaimRefusesLiveHolder) }

func testClaimRefusesLiveHolder(t *testing.T, open func() *store.Store) {
	s := open()
	ctx, cancel := context.WithCancel(t.Context())
	if err := s.ClaimNode(ctx, store.NodeRow{Name: "node-a", Instance: "live", Host: "other-host", PID: 1}); err != nil {
		t.Fatal(err)
	}
	openSession(t, s, "a1", "node-a")
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		for ctx.Err() == nil {
			s.Beat(ctx, "node-a", "live")
			time.Sleep(10 * time.Millisecond) // the live holder's heartbeat
		}
	})
	_, err := Claim(ctx, Config{Node: "node-a", Store: s, StaleAfter: 3 * time.Second, Host: "h1", PID: 99})
	if !errors.Is(err, ErrNodeInUse) {
		t.Fatalf("claim under a live node's name: %v", err)
	}
	if got, _ := s.Session(t.Context(), "a1"); got.Status != store.StatusRunning {
		t.Errorf("the live node's session: %+v", got)
	}
	if row, _ := s.Node(t.Context(), "node-a"); row.Instance != "live" {
		t.Errorf("the name was taken from the live node: %+v", row)
	}
}

// A holder of the name on another host that stopped beating is waited
// out (at most the bound), then its sessions are ended.
func TestClaimWaitsOutSilentHolder(t *testing.T) { forEachBackend(t, testClaimWaitsOutSilentHolder) }

func testClaimWaitsOutSilentHolder(t *testing.T, open func() *store.Store) {
	s := open()
	if err := s.ClaimNode(t.Context(), store.NodeRow{Name: "node-a", Instance: "gone", Host: "other-host", PID: 1}); err != nil {
		t.Fatal(err)
	}
	openSession(t, s, "a1", "node-a")
	if _, err := Claim(t.Context(), Config{Node: "node-a", Store: s, StaleAfter: time.Second, Host: "h1", PID: 99}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Session(t.Context(), "a1"); got.Status != store.StatusIncomplete {
		t.Errorf("after waiting out the silent holder: %+v", got)
	}
}

// A node that stopped and released its name is not waited for: it starts
// on another host at once (the bound here is an hour, the test's deadline
// a minute).
func TestClaimAfterRelease(t *testing.T) { forEachBackend(t, testClaimAfterRelease) }

func testClaimAfterRelease(t *testing.T, open func() *store.Store) {
	s := open()
	n, err := Claim(t.Context(), Config{Node: "node-a", Store: s, Host: "old-host", PID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := Claim(ctx, Config{Node: "node-a", Store: s, StaleAfter: time.Hour, Host: "new-host", PID: 2}); err != nil {
		t.Fatalf("claim after a release: %v", err)
	}
}

// A node that stopped cleanly but could not write a session's end leaves
// it open: another node ends it at once, saying the node stopped (not a
// heartbeat from 1970).
func TestSweepAfterRelease(t *testing.T) { forEachBackend(t, testSweepAfterRelease) }

func testSweepAfterRelease(t *testing.T, open func() *store.Store) {
	s := open()
	ctx := t.Context()
	a, err := Claim(ctx, Config{Node: "node-a", Store: s})
	if err != nil {
		t.Fatal(err)
	}
	openSession(t, s, "a1", "node-a")
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := Claim(ctx, Config{Node: "node-b", Store: s})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Session(ctx, "a1")
	evs := incompleteEvents(t, s)["a1"]
	if got.Status != store.StatusIncomplete || got.EndReason != "node node-a stopped with the session still open" ||
		len(evs) != 1 || evs[0].Reason != ReasonStopped || evs[0].Detail["last_heartbeat"] != nil {
		t.Errorf("after a clean stop that left a1 open: %+v, events %+v", got, evs)
	}
}

// Two survivors on two connections sweeping at once for a dead node's
// sessions: each session is marked once and has one audit event.
func TestSweepRace(t *testing.T) { forEachBackend(t, testSweepRace) }

func testSweepRace(t *testing.T, open func() *store.Store) {
	sa, sb, sc := open(), open(), open()
	ctx := t.Context()
	if _, err := Claim(ctx, Config{Node: "node-a", Store: sa}); err != nil {
		t.Fatal(err)
	}
	const sessions = 5
	for i := range sessions {
		openSession(t, sa, fmt.Sprintf("a%d", i), "node-a")
	}
	// node-a never beats again: it is dead once its claim is a second old.
	var sweepers []*Node
	for name, s := range map[string]*store.Store{"node-b": sb, "node-c": sc} {
		n, err := Claim(ctx, Config{Node: name, Store: s, StaleAfter: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		sweepers = append(sweepers, n)
	}
	waitFor(t, "every session of node-a ended", func() bool {
		var wg sync.WaitGroup
		for _, n := range sweepers {
			wg.Go(func() {
				if err := n.Sweep(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		open, err := sa.RunningSessions(ctx, "node-a")
		return err == nil && len(open) == 0
	})
	events := incompleteEvents(t, sa)
	for i := range sessions {
		id := fmt.Sprintf("a%d", i)
		got, _ := sa.Session(ctx, id)
		if evs := events[id]; len(evs) != 1 || evs[0].Reason != ReasonStale || evs[0].Detail["marked_by"] != got.EndedBy {
			t.Errorf("%s (ended by %q): events %+v", id, got.EndedBy, evs)
		}
		if got.Status != store.StatusIncomplete || !regexpMatch(`^node node-a stopped heartbeating at \S+$`, got.EndReason) {
			t.Errorf("%s: %+v", id, got)
		}
	}
}

// unwritable makes a mark's audit event one the store cannot encode, so
// the real store's write of it fails.
func unwritable(e store.Event) store.Event {
	e.Detail = map[string]any{"unwritable": make(chan int)}
	return e
}

// A mark whose audit event cannot be written does not happen: the session
// stays open, and the next sweep with a working trail ends it.
func TestMarkWithoutAuditDoesNotHappen(t *testing.T) {
	forEachBackend(t, testMarkWithoutAuditDoesNotHappen)
}

func testMarkWithoutAuditDoesNotHappen(t *testing.T, open func() *store.Store) {
	s := open()
	ctx := t.Context()
	if _, err := Claim(ctx, Config{Node: "node-a", Store: s}); err != nil {
		t.Fatal(err)
	}
	openSession(t, s, "a1", "node-a")
	broken, err := Claim(ctx, Config{Node: "node-b", Store: s, PrepareEvent: unwritable, StaleAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node-a stale", func() bool {
		stale, _ := s.StaleNodes(ctx, time.Second, "node-b")
		return len(stale) == 1
	})
	if err := broken.Sweep(ctx); err == nil {
		t.Fatal("a sweep whose audit failed reported success")
	}
	if got, _ := s.Session(ctx, "a1"); got.Status != store.StatusRunning || len(incompleteEvents(t, s)) != 0 {
		t.Fatalf("after a failed audit: %+v", got)
	}
	broken.cfg.PrepareEvent = nil
	if err := broken.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Session(ctx, "a1"); got.Status != store.StatusIncomplete || len(incompleteEvents(t, s)["a1"]) != 1 {
		t.Errorf("after the trail is back: %+v", got)
	}
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }

// flakyBeats stands for a node cut off from the database: its beats fail
// while failing is set (everything else goes through, as a read replica
// or a half-broken connection pool might let it).
type flakyBeats struct {
	*store.Store
	failing  atomic.Bool
	attempts atomic.Int32
}

func (f *flakyBeats) Beat(ctx context.Context, name, instance string) error {
	f.attempts.Add(1)
	if f.failing.Load() {
		return errors.New("connection refused")
	}
	return f.Store.Beat(ctx, name, instance)
}

// A node whose own beats fail does not judge others (after a database
// outage every beat is old, and the first node back would take the rest
// for dead); once its beats go through again for a full bound, it does.
func TestNoSweepWhileOwnBeatsFail(t *testing.T) { forEachBackend(t, testNoSweepWhileOwnBeatsFail) }

func testNoSweepWhileOwnBeatsFail(t *testing.T, open func() *store.Store) {
	sa, sb := open(), open()
	ctx := t.Context()
	if _, err := Claim(ctx, Config{Node: "node-a", Store: sa}); err != nil {
		t.Fatal(err)
	}
	openSession(t, sa, "a1", "node-a") // node-a never beats again
	fb := &flakyBeats{Store: sb}
	fb.failing.Store(true)
	const bound = time.Second
	b, err := Claim(ctx, Config{Node: "node-b", Store: fb, StaleAfter: bound})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- b.Run(rctx) }()
	defer func() { stop(); <-done }()
	waitFor(t, "node-b to fail three bounds of beats with node-a stale", func() bool {
		stale, _ := sb.StaleNodes(ctx, bound, "node-b")
		return fb.attempts.Load() >= 3*beatsPerBound && len(stale) == 1
	})
	if got, _ := sb.Session(ctx, "a1"); got.Status != store.StatusRunning {
		t.Fatalf("a node whose own beats failed judged another dead: %+v", got)
	}
	fb.failing.Store(false)
	waitFor(t, "node-b, beating again, to end node-a's session", func() bool {
		got, err := sb.Session(ctx, "a1")
		return err == nil && got.Status == store.StatusIncomplete
	})
}

// beatAt is a beat at a second after the claim, gone through or not.
type beatAt struct {
	at float64
	ok bool
}

// The vantage: steady only after beats go through without a gap.
func TestVantage(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	const iv = time.Second
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	for _, tc := range []struct {
		name   string
		beats  []beatAt
		now    float64
		steady time.Duration
	}{
		{"steady-since-claim", []beatAt{{1, true}, {2, true}, {3, true}}, 3.5, 3500 * time.Millisecond},
		{"failure-resets", []beatAt{{1, true}, {2, false}, {3, true}, {4, true}}, 4, time.Second},
		{"failing-now", []beatAt{{1, true}, {2, false}}, 5, 0},
		{"stall-resets", []beatAt{{1, true}, {2, true}, {9, true}, {10, true}}, 10, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := vantage{steadySince: t0, lastBeat: t0}
			for _, b := range tc.beats {
				v.beat(at(b.at), b.ok, iv)
			}
			if got := v.steadyFor(at(tc.now)); got != tc.steady {
				t.Errorf("steady for %v; want %v", got, tc.steady)
			}
		})
	}
}

// A node whose beats stop reaching the store says so (its /readyz fails)
// before the others may take it for dead, and recovers once a beat goes
// through again.
func TestBeatingFollowsTheBeats(t *testing.T) { forEachBackend(t, testBeatingFollowsTheBeats) }

func testBeatingFollowsTheBeats(t *testing.T, open func() *store.Store) {
	fb := &flakyBeats{Store: open()}
	ctx := t.Context()
	n, err := Claim(ctx, Config{Node: "node-a", Store: fb, StaleAfter: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Beating(); err != nil {
		t.Fatalf("just after its claim: %v", err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(rctx) }()
	defer func() { stop(); <-done }()
	fb.failing.Store(true)
	waitFor(t, "Beating to report the failed beats", func() bool { return n.Beating() != nil })
	if err := n.Beating(); !strings.Contains(fmt.Sprint(err), "no heartbeat has reached the store") {
		t.Errorf("Beating = %v", err)
	}
	fb.failing.Store(false)
	waitFor(t, "Beating to recover", func() bool { return n.Beating() == nil })
}
