package main

import (
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/config"
)

// A legal hold written with a session id prefix (the connection id that
// starts every session id on it, or the short form every other command
// accepts) keeps those sessions: a hold that matches too much is safe, one
// that silently matches nothing deletes evidence under hold.
func TestRetentionAttackHoldByPrefix(t *testing.T) {
	d := newTestData(t)
	d.t0 = time.Now().Add(-10 * 24 * time.Hour)
	held := d.session(t, "3f2a9c01d4e5b6a7-1", true)
	held2 := d.session(t, "3f2a9c01d4e5b6a7-2", true)
	other := d.session(t, "0badc0de00000000-1", true)
	r := config.Retention{KeepDays: 5, Holds: []config.Hold{{Session: "3f2a9c01d4e5b6a7", Reason: "case 2026-17"}}}
	res, err := applyRetention(t.Context(), d.st, r, time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{held.Recording, held2.Recording} {
		if _, err := os.Stat(s); err != nil {
			t.Errorf("a recording under legal hold was deleted: %v (%+v)", err, res)
		}
	}
	if _, err := os.Stat(other.Recording); !os.IsNotExist(err) {
		t.Errorf("the unheld recording is still there: %v", err)
	}
}

// Someone who can write the database points an expired session's
// recording at a held session's file (or at any file the bastion may
// delete): retention deletes only a recording named after its session.
func TestRetentionAttackRecordingPathRedirected(t *testing.T) {
	d := newTestData(t)
	d.t0 = time.Now().Add(-10 * 24 * time.Hour)
	d.session(t, "expired", true)
	held := d.session(t, "held", true)
	db, err := sql.Open("sqlite3", "file:"+dbPath(d.dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE sessions SET recording = ? WHERE id = 'expired'`, held.Recording); err != nil {
		t.Fatal(err)
	}
	r := config.Retention{KeepDays: 5, Holds: []config.Hold{{Session: "held", Reason: "case 2026-17"}}}
	res, err := applyRetention(t.Context(), d.st, r, time.Now(), false)
	if _, serr := os.Stat(held.Recording); serr != nil {
		t.Fatalf("the held recording was deleted through another row: %v (%+v, %v)", serr, res, err)
	}
	if err == nil {
		t.Error("a recording path that does not name its session was not reported")
	}
}
