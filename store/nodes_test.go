package store

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// age moves a node's last beat back by d, as if it had stopped beating d
// ago (the test's stand-in for waiting).
func age(t *testing.T, s *Store, node string, d time.Duration) {
	t.Helper()
	if _, err := s.db.ExecContext(t.Context(), `UPDATE nodes SET beat_ms = beat_ms - ? WHERE name = ?`, d.Milliseconds(), node); err != nil {
		t.Fatal(err)
	}
}

func openSession(t *testing.T, s *Store, id, node string) {
	t.Helper()
	if err := s.CreateSession(t.Context(), Session{ID: id, ConnID: "c-" + id, Identity: "alice@example.com", SourceAddr: "192.0.2.7:5000",
		Target: "db", Login: "root", Kind: "shell", StartedAt: time.Now(), Recording: id + ".cast", Node: node}); err != nil {
		t.Fatal(err)
	}
}

// A node's heartbeat is its own: it beats on the database's clock, a beat
// under another process's claim is refused, and only a node silent past
// the bound, with sessions open, is stale.
func TestNodeHeartbeat(t *testing.T) { forEachBackend(t, testNodeHeartbeat) }

func testNodeHeartbeat(t *testing.T, be backend) {
	s := be.new(t)
	ctx := t.Context()
	if _, err := s.Node(ctx, "node-a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a node that never claimed its name: %v", err)
	}
	for _, n := range []string{"node-a", "node-b", "node-c"} {
		if err := s.ClaimNode(ctx, NodeRow{Name: n, Instance: "i-" + n, Host: "h", PID: 7}); err != nil {
			t.Fatal(err)
		}
	}
	a, err := s.Node(ctx, "node-a")
	if err != nil || a.Instance != "i-node-a" || a.Host != "h" || a.PID != 7 || a.Age < 0 || a.Age > time.Minute ||
		time.Since(a.Beat) > time.Minute || a.Beat.Before(a.Started) {
		t.Fatalf("node-a = %+v, %v", a, err)
	}
	age(t, s, "node-a", time.Minute)
	if err := s.Beat(ctx, "node-a", "i-node-a"); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Node(ctx, "node-a"); !b.Beat.After(a.Beat.Add(-time.Second)) || b.Age > time.Minute {
		t.Errorf("the beat did not move forward: %+v after %+v", b, a)
	}
	if err := s.Beat(ctx, "node-a", "i-someone-else"); !errors.Is(err, ErrNodeTaken) {
		t.Errorf("a beat under another process's claim: %v", err)
	}
	if err := s.Beat(ctx, "node-x", "i-node-x"); !errors.Is(err, ErrNodeTaken) {
		t.Errorf("a beat for a node that never claimed its name: %v", err)
	}

	openSession(t, s, "sa", "node-a")
	openSession(t, s, "sb", "node-b")
	age(t, s, "node-a", time.Minute)
	age(t, s, "node-c", time.Minute) // silent, but nothing of it is open
	stale, err := s.StaleNodes(ctx, 30*time.Second, "node-b")
	if err != nil || len(stale) != 1 || stale[0].Name != "node-a" || stale[0].Age < time.Minute {
		t.Fatalf("stale = %+v, %v; want node-a only", stale, err)
	}
	if stale, _ := s.StaleNodes(ctx, 30*time.Second, "node-a"); len(stale) != 0 {
		t.Errorf("a node judges itself stale: %+v", stale)
	}
	if stale, _ := s.StaleNodes(ctx, 2*time.Minute, "node-b"); len(stale) != 0 {
		t.Errorf("stale within the bound: %+v", stale)
	}

	// Released by a process that no longer holds the name: nothing; by
	// its holder: stale at once.
	if err := s.ReleaseNode(ctx, "node-b", "i-someone-else"); err != nil {
		t.Fatal(err)
	}
	if stale, _ := s.StaleNodes(ctx, 2*time.Minute, "node-a"); len(stale) != 0 {
		t.Errorf("released by a process that does not hold the name: %+v", stale)
	}
	if err := s.ReleaseNode(ctx, "node-b", "i-node-b"); err != nil {
		t.Fatal(err)
	}
	if stale, _ := s.StaleNodes(ctx, 2*time.Minute, "node-a"); len(stale) != 1 || stale[0].Name != "node-b" {
		t.Errorf("released: stale = %+v", stale)
	}
}

// A mark holds only while the session is open and its node's row is the
// one judged dead: a beat, a new claim or the session's own end between
// the judgment and the mark keeps the session as it is.
func TestMarkIncompleteIsConditional(t *testing.T) {
	forEachBackend(t, testMarkIncompleteIsConditional)
}

func testMarkIncompleteIsConditional(t *testing.T, be backend) {
	s := be.new(t)
	ctx := t.Context()
	if err := s.ClaimNode(ctx, NodeRow{Name: "node-a", Instance: "i1"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"s1", "s2", "s3", "s4"} {
		openSession(t, s, id, "node-a")
	}
	openSession(t, s, "other", "node-b")
	age(t, s, "node-a", time.Minute)
	judged, err := s.Node(ctx, "node-a")
	if err != nil {
		t.Fatal(err)
	}
	mark := func(id string) bool {
		ok, err := s.MarkIncomplete(ctx, id, IncompleteMark{At: time.Now(), By: "node-b", Reason: "node node-a stopped heartbeating", Dead: judged},
			Event{Type: "session.incomplete", Outcome: OutcomeError, SessionID: id, Detail: map[string]any{"marked_by": "node-b"}})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	// marks is how many mark events session id has: exactly one per mark
	// that held, none for one that did not.
	marks := func(id string) int {
		evs, err := s.Events(ctx, EventFilter{Type: "session.incomplete", SessionID: id})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	if err := s.EndSession(ctx, "s1", SessionEnd{At: time.Now(), Reason: "exit"}); err != nil {
		t.Fatal(err)
	}
	if mark("s1") {
		t.Error("a session that ended was marked")
	}
	if mark("other") {
		t.Error("another node's session was marked under node-a's row")
	}
	if !mark("s2") || mark("s2") {
		t.Error("s2: want marked once")
	}
	got, _ := s.Session(ctx, "s2")
	if got.Status != StatusIncomplete || got.EndedBy != "node-b" || got.EndedAt == nil || got.ExitStatus != nil ||
		got.EndReason != "node node-a stopped heartbeating" {
		t.Errorf("marked session = %+v", got)
	}
	if got, _ := s.Session(ctx, "s1"); got.Status != StatusEnded {
		t.Errorf("ended session status %q", got.Status)
	}
	if got, _ := s.Session(ctx, "s3"); got.Status != StatusRunning || got.EndedBy != "" {
		t.Errorf("open session status %q", got.Status)
	}

	// node-a beats after it was judged: alive after all.
	if err := s.Beat(ctx, "node-a", "i1"); err != nil {
		t.Fatal(err)
	}
	if mark("s3") {
		t.Error("a session of a node that beat after the judgment was marked")
	}
	// node-a restarted (a new claim) after it was judged.
	age(t, s, "node-a", time.Minute)
	judged, _ = s.Node(ctx, "node-a")
	if err := s.ClaimNode(ctx, NodeRow{Name: "node-a", Instance: "i2"}); err != nil {
		t.Fatal(err)
	}
	age(t, s, "node-a", time.Minute) // same beat, new instance
	if mark("s4") {
		t.Error("a session was marked under a claim the node no longer holds")
	}

	for id, want := range map[string]int{"s1": 0, "other": 0, "s2": 1, "s3": 0, "s4": 0} {
		if got := marks(id); got != want {
			t.Errorf("session %s has %d mark events, want %d", id, got, want)
		}
	}

	// A mark whose audit event cannot be written does not happen.
	judged, _ = s.Node(ctx, "node-a")
	ok, err := s.MarkIncomplete(ctx, "s4", IncompleteMark{At: time.Now(), By: "node-b", Reason: "dead", Dead: judged},
		Event{Type: "session.incomplete", SessionID: "s4", Detail: map[string]any{"unwritable": make(chan int)}})
	if ok || err == nil {
		t.Errorf("a mark without its event: marked %v, err %v", ok, err)
	}
	if got, _ := s.Session(ctx, "s4"); got.Status != StatusRunning || got.EndedAt != nil || got.EndedBy != "" {
		t.Errorf("after a mark whose event failed: %+v", got)
	}
	if !mark("s4") || marks("s4") != 1 {
		t.Fatal("s4 not marked, with its one event, once the event could be written")
	}

	// The end a live node writes later overrides a mark.
	zero := 0
	if err := s.EndSession(ctx, "s2", SessionEnd{At: time.Now(), ExitStatus: &zero, Reason: "exit"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Session(ctx, "s2"); got.Status != StatusEnded || got.EndedBy != "" {
		t.Errorf("a session its node ended after all = %+v", got)
	}
}

// Two survivors on two connections racing to mark a dead node's sessions:
// each session is marked exactly once.
func TestMarkIncompleteRace(t *testing.T) { forEachBackend(t, testMarkIncompleteRace) }

func testMarkIncompleteRace(t *testing.T, be backend) {
	c := be.fresh(t)
	b, d := be.open(t, c), be.open(t, c)
	ctx := t.Context()
	if err := b.ClaimNode(ctx, NodeRow{Name: "node-a", Instance: "i1"}); err != nil {
		t.Fatal(err)
	}
	const sessions = 6
	for i := range sessions {
		openSession(t, b, fmt.Sprintf("s%d", i), "node-a")
	}
	age(t, b, "node-a", time.Minute)
	// Each survivor judges node-a dead, then both mark at once.
	judged := map[*Store][]NodeRow{}
	for st, by := range map[*Store]string{b: "node-b", d: "node-d"} {
		stale, err := st.StaleNodes(ctx, 30*time.Second, by)
		if err != nil || len(stale) != 1 {
			t.Fatalf("%s: stale = %+v, %v", by, stale, err)
		}
		judged[st] = stale
	}
	var marks [sessions]atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 8*sessions)
	for i := range 8 {
		st, by := []*Store{b, d}[i%2], []string{"node-b", "node-d"}[i%2]
		stale := judged[st]
		wg.Go(func() {
			for j := range sessions {
				id := fmt.Sprintf("s%d", j)
				ok, err := st.MarkIncomplete(ctx, id, IncompleteMark{At: time.Now(), By: by, Reason: "dead", Dead: stale[0]},
					Event{Type: "session.incomplete", SessionID: id})
				if err != nil {
					errs <- err
				}
				if ok {
					marks[j].Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for j := range sessions {
		if n := marks[j].Load(); n != 1 {
			t.Errorf("s%d marked %d times; want 1", j, n)
		}
	}
	if running, _ := d.RunningSessions(ctx, "node-a"); len(running) != 0 {
		t.Errorf("still running: %+v", running)
	}
	evs, err := d.Events(ctx, EventFilter{Type: "session.incomplete"})
	if err != nil || len(evs) != sessions {
		t.Errorf("%d mark events (%v); want one per session, %d", len(evs), err, sessions)
	}
	if stale, _ := d.StaleNodes(ctx, 30*time.Second, "node-d"); len(stale) != 0 {
		t.Errorf("a dead node with nothing open is still swept: %+v", stale)
	}
}
