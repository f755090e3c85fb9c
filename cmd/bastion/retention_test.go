package main

import (
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/store"
)

// Sessions past retention lose their recordings, each deletion audited;
// held ones are kept; verify stays clean and says what retention removed.
func TestRetention(t *testing.T) {
	d := newTestData(t)
	d.t0 = time.Now().Add(-10 * 24 * time.Hour)
	old := d.session(t, "old", true)
	held := d.session(t, "held", true)
	d.t0 = time.Now().Add(-time.Hour)
	d.session(t, "recent", true)
	r := config.Retention{KeepDays: 5, Holds: []config.Hold{{Session: "held", Reason: "case 2026-17"}}}

	dry, err := applyRetention(t.Context(), d.st, r, time.Now(), true)
	if err != nil || len(dry.Deleted) != 1 || dry.Deleted[0] != "old" {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	if _, err := os.Stat(old.Recording); err != nil {
		t.Fatalf("the dry run deleted: %v", err)
	}
	res, err := applyRetention(t.Context(), d.st, r, time.Now(), false)
	if err != nil || len(res.Deleted) != 1 || len(res.Held) != 1 || !strings.Contains(res.Held[0], "case 2026-17") {
		t.Fatalf("retention: %+v, %v", res, err)
	}
	if _, err := os.Stat(old.Recording); !os.IsNotExist(err) {
		t.Errorf("the expired recording is still there: %v", err)
	}
	if _, err := os.Stat(held.Recording); err != nil {
		t.Errorf("the held recording was deleted: %v", err)
	}
	evs, _ := d.st.Events(t.Context(), store.EventFilter{Type: retentionDeleteEvent})
	if len(evs) != 1 || evs[0].SessionID != "old" {
		t.Errorf("retention events: %+v", evs)
	}
	rep := d.verify(t)
	v := verdicts(rep)
	if len(rep.Problems) != 0 || v["old"].Verdict != verdictDeleted || v["held"].Verdict != verdictVerified ||
		v["recent"].Verdict != verdictVerified {
		t.Fatalf("verify after retention: %+v", rep)
	}
	// A second run finds nothing more to do.
	if again, err := applyRetention(t.Context(), d.st, r, time.Now(), false); err != nil || len(again.Deleted) != 0 {
		t.Errorf("second run: %+v, %v", again, err)
	}

	// A recording deleted by hand and its row marked as if retention had
	// done it is named: no retention event says so.
	os.Remove(held.Recording)
	db, err := sql.Open("sqlite3", "file:"+dbPath(d.dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Exec(`UPDATE sessions SET deleted_at = '2026-01-01T00:00:00Z', deleted_reason = 'retention' WHERE id = 'held'`)
	rep = d.verify(t)
	if v := verdicts(rep)["held"]; v.Verdict != verdictBad || !strings.Contains(v.Detail, "no retention.delete event") {
		t.Errorf("forged deletion: %+v", v)
	}
}
