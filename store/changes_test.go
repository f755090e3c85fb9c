package store

import (
	"context"
	"testing"
	"time"
)

// hourly is a feed whose timers never fire in a test: what it reports came
// by notification.
var hourly = feedTimes{poll: time.Hour, retry: time.Hour, ping: time.Hour}

// nextChange returns the feed's next change. The bound only keeps a
// broken feed from hanging the test; nothing here measures speed.
func nextChange(t *testing.T, ch <-chan Change) Change {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("the change feed closed")
		}
		return c
	case <-time.After(30 * time.Second):
		t.Fatal("no change reported")
	}
	return Change{}
}

// A decision written through one store reaches a feed on another: on
// PostgreSQL by notification (the feed's polling is set to an hour, so
// nothing else could deliver it), naming what changed; on SQLite by
// polling, as a resync.
func TestChangesAcrossNodes(t *testing.T) { forEachBackend(t, testChangesAcrossNodes) }

func testChangesAcrossNodes(t *testing.T, be backend) {
	c := be.fresh(t)
	a, b := be.open(t, c), be.open(t, c)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ft, wantApproval, wantRevocation := hourly, Change{Kind: ChangeApproval, ID: "req-1"}, Change{Kind: ChangeRevocation}
	if be.name == BackendSQLite {
		ft, wantApproval, wantRevocation = feedTimes{poll: 10 * time.Millisecond}, Change{Kind: ChangeResync}, Change{Kind: ChangeResync}
	}
	feed := a.changes(ctx, ft)
	if be.name == BackendPostgres {
		// Listening begins by saying so: what was missed before it is re-checked.
		if got := nextChange(t, feed); got.Kind != ChangeListening {
			t.Fatalf("first change = %+v, want listening", got)
		}
	}
	now := time.Now().UTC()
	if err := b.CreateApproval(ctx, Approval{ID: "req-1", Requester: "alice@example.com", Target: "db", Login: "root",
		Command: "reboot", CommandKey: "k", Rule: "r", Needed: 1, CreatedAt: now, Deadline: now.Add(time.Hour),
		State: "pending"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UpdateApproval(ctx, "req-1", func(x *Approval) (*ApprovalDecision, error) {
		x.State, x.ClosedAt = "approved", &now
		return &ApprovalDecision{Reviewer: "bob@example.com", Channel: "cli", Approve: true, Reason: "ok", At: now}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := nextChange(t, feed); got != wantApproval {
		t.Errorf("after an approval: %+v, want %+v", got, wantApproval)
	}
	if err := b.Revoke(ctx, Revocation{Serial: "42"}); err != nil {
		t.Fatal(err)
	}
	if got := nextChange(t, feed); got != wantRevocation {
		t.Errorf("after a revocation: %+v, want %+v", got, wantRevocation)
	}
	// A write that is rolled back tells nobody.
	if _, err := b.UpdateApproval(ctx, "req-1", func(*Approval) (*ApprovalDecision, error) { return nil, errDecided }); err == nil {
		t.Fatal("the refused update was written")
	}
	if err := b.Revoke(ctx, Revocation{Identity: "mallory@example.com"}); err != nil {
		t.Fatal(err)
	}
	if got := nextChange(t, feed); got != wantRevocation {
		t.Errorf("after a refused update and a revocation: %+v, want %+v", got, wantRevocation)
	}
	cancel()
	for range feed { // drained, then closed: the feed's goroutine has ended
	}
}

// The listening connection is cut (a PostgreSQL restart, a proxy timing
// out): the feed says it falls back to polling, connects again, says it
// listens (re-check what it may have missed), and goes on naming changes.
func TestChangesListenerReconnects(t *testing.T) {
	c := postgresBackend.fresh(t)
	a, b := postgresBackend.open(t, c), postgresBackend.open(t, c)
	feed := a.changes(t.Context(), feedTimes{poll: time.Hour, retry: time.Second, ping: time.Hour})
	if got := nextChange(t, feed); got.Kind != ChangeListening {
		t.Fatalf("first change = %+v", got)
	}
	var cut int
	if err := b.db.QueryRowContext(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query = 'LISTEN `+changesChannel+`' AND pid <> pg_backend_pid()`).Scan(&cut); err != nil || cut != 1 {
		t.Fatalf("cut %d listeners, %v", cut, err)
	}
	if err := b.Revoke(t.Context(), Revocation{Serial: "7"}); err != nil { // while nobody listens
		t.Fatal(err)
	}
	if got := nextChange(t, feed); got.Kind != ChangePolling || got.Why == "" {
		t.Fatalf("after the cut: %+v, want polling, saying why", got)
	}
	if got := nextChange(t, feed); got.Kind != ChangeListening {
		t.Fatalf("after the cut: %+v, want listening again", got)
	}
	if err := b.Revoke(t.Context(), Revocation{Serial: "8"}); err != nil {
		t.Fatal(err)
	}
	if got := nextChange(t, feed); got.Kind != ChangeRevocation {
		t.Errorf("after reconnecting: %+v, want a revocation", got)
	}
}

// A quiet listener checks its connection now and then; the check leaves
// the connection listening: no reconnection (which would say polling, then listening), and
// notifications still arrive.
func TestChangesListenerPingsWhenQuiet(t *testing.T) {
	c := postgresBackend.fresh(t)
	a, b := postgresBackend.open(t, c), postgresBackend.open(t, c)
	feed := a.changes(t.Context(), feedTimes{poll: time.Hour, retry: time.Hour, ping: 20 * time.Millisecond})
	if got := nextChange(t, feed); got.Kind != ChangeListening {
		t.Fatalf("first change = %+v", got)
	}
	// pgx's Ping runs "-- ping": seen in pg_stat_activity once the
	// listener has checked its connection.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var pinged int
		if err := b.db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE query = '-- ping' AND pid <> pg_backend_pid()`).Scan(&pinged); err != nil {
			t.Fatal(err)
		}
		if pinged > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the quiet listener never checked its connection")
		}
	}
	if err := b.Revoke(t.Context(), Revocation{Serial: "9"}); err != nil {
		t.Fatal(err)
	}
	if got := nextChange(t, feed); got.Kind != ChangeRevocation {
		t.Errorf("after pings: %+v, want a revocation (anything else means the listener reconnected)", got)
	}
}
