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
