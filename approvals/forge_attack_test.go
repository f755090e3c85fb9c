package approvals

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/store"
)

// Someone who can write the database flips a pending request to approved
// (and adds a decision row) by hand, then runs the command with
// BASTION_REQUEST. No reviewer decided: the approval must not be spent.
func TestBrokerAttackForgedApprovalRow(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := New(st, []byte("0123456789abcdef0123456789abcdef"))
	ctx := context.Background()
	a, err := b.Open(ctx, request(1))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC()
	if _, err := db.Exec(`UPDATE approvals SET state = 'approved', closed_at = ? WHERE id = ?`, now.Format(time.RFC3339Nano), a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO approval_decisions (approval_id, reviewer, channel, approve, reason, at) VALUES (?, 'carol@example.com', 'cli', 1, 'ok', ?)`,
		a.ID, now.Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(ctx, a.ID)
	if err != nil || got.State != StateApproved {
		t.Fatalf("the forged row does not read as approved (%v, %+v): the test no longer forges", err, got)
	}
	r := request(1)
	if _, err := b.Use(ctx, a.ID, r); err == nil {
		t.Fatal("a hand-approved request was spent: the command would run without any reviewer's decision")
	}
}

// A decision made on another bastion commits the request's row before its
// audit event, and that commit wakes the waiter here at once. The waiter
// must not take the row alone for an approval (Use would refuse it, and
// the command with it): it waits for the decision's event.
func TestWaitForTheDecisionEvent(t *testing.T) {
	b, st, _ := newBroker(t)
	ctx := context.Background()
	a := open(t, b, 1)
	now := time.Now().UTC()
	if _, err := st.UpdateApproval(ctx, a.ID, func(x *store.Approval) (*store.ApprovalDecision, error) {
		x.State, x.ClosedAt = StateApproved, &now
		return &store.ApprovalDecision{Reviewer: carol.Identity, Channel: carol.Channel, Approve: true, Reason: "ok", At: now}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// Before the event: still waiting when the caller gives up (the row
	// reads approved from the start, so a waiter taking it returns at once).
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if got, err := b.Wait(short, a.ID); err == nil {
		t.Fatalf("Wait returned %s before the decision's audit event", got.State)
	}
	if err := st.Audit(ctx, store.Event{Type: "approval.decide", Outcome: store.OutcomeAllowed, SessionID: a.SessionID,
		Identity: carol.Identity, Reason: "approve", Detail: map[string]any{"request": a.ID, "decision": "approve"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Wait(ctx, a.ID); err != nil || got.State != StateApproved {
		t.Fatalf("Wait after the event = %s, %v", got.State, err)
	}
	if _, err := b.Use(ctx, a.ID, request(1)); err != nil {
		t.Errorf("Use after the event: %v", err)
	}
}
