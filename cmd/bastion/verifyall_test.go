package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/liveness"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// testData is a data directory written the way the server writes it.
type testData struct {
	dir  string
	key  ed25519.PrivateKey
	st   *store.Store
	log  sessionLog
	t0   time.Time
	rows map[string]store.Session
}

func newTestData(t *testing.T) *testData {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	d := &testData{dir: t.TempDir(), key: key, t0: time.Now().Add(-time.Hour).Truncate(time.Second), rows: map[string]store.Session{}}
	var err error
	if d.st, err = store.Open(dbPath(d.dir)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.st.Close() })
	if d.log, err = recorder.OpenLog(logDir(d.dir), key); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.log.Close() })
	return d
}

// session records one session; closed sessions get a manifest, a log
// record and an ended row; others stop after a checkpoint, as a crash would.
func (d *testData) session(t *testing.T, id string, closed bool) store.Session {
	t.Helper()
	start := d.t0.Add(time.Duration(len(d.rows)) * time.Minute)
	h := recorder.Header{Timestamp: start, Command: "psql -c 'select 1'", Session: recorder.Meta{SessionID: id,
		Identity: "alice@example.com", Source: "192.0.2.1:5000", Target: "db", Login: "postgres", Kind: recorder.KindExec}}
	path := filepath.Join(d.dir, "recordings", id+".cast")
	w, err := recorder.Create(path, h, recorder.Options{Signer: d.key, Clock: func() time.Time { return start }, CheckpointEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	row := store.Session{ID: id, ConnID: "c", Identity: "alice@example.com", SourceAddr: "192.0.2.1:5000", Target: "db",
		Login: "postgres", Kind: "exec", Command: h.Command, StartedAt: start, Recording: path}
	if err := d.st.CreateSession(t.Context(), row); err != nil {
		t.Fatal(err)
	}
	if err := w.Output([]byte("row-for-" + id + "\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if closed {
		m, err := w.Close(recorder.ExitInfo{Status: 0})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.log.Append(recorder.LogRecord(m)); err != nil {
			t.Fatal(err)
		}
		zero := 0
		if err := d.st.EndSession(t.Context(), id, store.SessionEnd{At: m.End, ExitStatus: &zero}); err != nil {
			t.Fatal(err)
		}
	}
	d.rows[id] = row
	return row
}

func (d *testData) verify(t *testing.T) *verifyReport {
	t.Helper()
	r, err := verifyAll(t.Context(), verifyInput{dataDir: d.dir, recordingsDir: filepath.Join(d.dir, "recordings"),
		pub: d.key.Public().(ed25519.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func verdicts(r *verifyReport) map[string]sessionCheck {
	out := map[string]sessionCheck{}
	for _, s := range r.Sessions {
		out[s.ID] = s
	}
	return out
}

// A crashed session is verified to its last checkpoint and reported
// incomplete, never skipped; a closed session whose row is edited to look
// unended is named.
func TestVerifyAllCrashedAndUnended(t *testing.T) {
	d := newTestData(t)
	d.session(t, "closed", true)
	d.session(t, "crashed", false)
	r := d.verify(t)
	v := verdicts(r)
	if len(r.Problems) != 0 || v["closed"].Verdict != verdictVerified || v["crashed"].Verdict != verdictIncomplete ||
		!strings.Contains(v["crashed"].Detail, "verified up to event 1 of 1") {
		t.Fatalf("report: %+v", r)
	}
	// The closed session's row edited to look unended.
	db, err := sql.Open("sqlite3", "file:"+dbPath(d.dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE sessions SET ended_at = NULL, exit_status = NULL WHERE id = 'closed'`); err != nil {
		t.Fatal(err)
	}
	r = d.verify(t)
	if v := verdicts(r)["closed"]; v.Verdict != verdictBad || !strings.Contains(v.Detail, "says it never ended") {
		t.Errorf("closed session edited to look unended: %+v", v)
	}
}

// A crashed session that its node's next start ended as incomplete is
// still judged from its recording: incomplete, with no problem. A row
// edited to look ended that way, with no audit event to say so, is named.
func TestVerifyAllMarkedIncomplete(t *testing.T) {
	d := newTestData(t)
	d.session(t, "crashed", false)
	d.session(t, "forged", false)
	db, err := sql.Open("sqlite3", "file:"+dbPath(d.dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE sessions SET node = 'node-a' WHERE id = 'crashed'`); err != nil {
		t.Fatal(err)
	}
	if _, err := liveness.Claim(t.Context(), liveness.Config{Node: "node-a", Store: d.st}); err != nil {
		t.Fatal(err)
	}
	if s, _ := d.st.Session(t.Context(), "crashed"); s.Status != store.StatusIncomplete {
		t.Fatalf("the restart left the crashed session %q", s.Status)
	}
	if _, err := db.Exec(`UPDATE sessions SET ended_at = ?, ended_by = 'node-b' WHERE id = 'forged'`, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
	r := d.verify(t)
	v := verdicts(r)
	if c := v["crashed"]; c.Verdict != verdictIncomplete || len(c.Problems) != 0 ||
		!strings.Contains(c.Detail, "verified up to event 1 of 1") || !strings.Contains(c.Detail, "ended as incomplete by node node-a (node-restarted)") {
		t.Errorf("crashed and marked: %+v", c)
	}
	if c := v["forged"]; c.Verdict != verdictBad || !strings.Contains(c.Detail, "no session.incomplete audit event") {
		t.Errorf("a mark forged in the database: %+v", c)
	}
}
