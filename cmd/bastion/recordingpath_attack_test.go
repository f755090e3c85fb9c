package main

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bastion-ssh/bastion/evidence"
)

// Someone who can write the database points a session's recording column
// at another file: a secret in the data directory, or another session's
// recording. verify --all and evidence export read only ID.cast under the
// recordings folder, and name the mismatch.
func TestRecordingPathRedirected(t *testing.T) {
	d := newTestData(t)
	d.session(t, "one", true)
	d.session(t, "two", true)
	secret := filepath.Join(d.dir, "secret.txt")
	if err := os.WriteFile(secret, []byte("TOPSECRET-a1b2c3"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+dbPath(d.dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for id, path := range map[string]string{"one": secret, "two": d.rows["one"].Recording} {
		if _, err := db.Exec(`UPDATE sessions SET recording = ? WHERE id = ?`, path, id); err != nil {
			t.Fatal(err)
		}
	}

	v := verdicts(d.verify(t))
	for id, path := range map[string]string{"one": secret, "two": d.rows["one"].Recording} {
		if v[id].Verdict != verdictBad || !strings.Contains(v[id].Detail, "names recording "+path) {
			t.Errorf("verify %s: %+v", id, v[id])
		}
	}

	var buf bytes.Buffer
	rep, err := evidence.Export(t.Context(), &buf, d.st, evidence.Options{LogDir: logDir(d.dir),
		RecordingsDir: filepath.Join(d.dir, "recordings"), Key: d.key})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("TOPSECRET-a1b2c3")) {
		t.Error("the bundle holds the file a row pointed at")
	}
	problems := strings.Join(rep.Problems, "\n")
	for _, id := range []string{"one", "two"} {
		if !strings.Contains(problems, "session "+id+": the database row names recording") {
			t.Errorf("export does not name %s's mismatch:\n%s", id, problems)
		}
	}
	if bytes.Contains(buf.Bytes(), []byte("sessions/two/one.cast")) {
		t.Error("the bundle holds another session's recording as two's")
	}
}
