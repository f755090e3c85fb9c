package evidence

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// A data directory as the server writes it: sessions recorded, closed and
// logged, audit events checkpointed in the log.
func writeData(t *testing.T) (dir string, key ed25519.PrivateKey, st *store.Store) {
	t.Helper()
	_, key, _ = ed25519.GenerateKey(rand.Reader)
	dir = t.TempDir()
	st, err := store.Open(filepath.Join(dir, "bastion.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log, err := recorder.OpenLog(filepath.Join(dir, "log"), key)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i, id := range []string{"kept-1", "deleted-1"} {
		at := start.Add(time.Duration(i) * time.Minute)
		h := recorder.Header{Timestamp: at, Command: "psql", Session: recorder.Meta{SessionID: id, Identity: "alice@example.com",
			Groups: []string{"dba"}, Source: "192.0.2.1:1", Target: "db", Login: "postgres", Kind: recorder.KindExec}}
		path := filepath.Join(dir, "recordings", id+".cast")
		w, err := recorder.Create(path, h, recorder.Options{Signer: key, CheckpointEvery: -1})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateSession(t.Context(), store.Session{ID: id, ConnID: "c" + id, Identity: "alice@example.com",
			SourceAddr: "192.0.2.1:1", Target: "db", Login: "postgres", Kind: "exec", Command: "psql", StartedAt: at, Recording: path}); err != nil {
			t.Fatal(err)
		}
		st.Audit(t.Context(), store.Event{Type: "session.start", Outcome: store.OutcomeAllowed, SessionID: id, Identity: "alice@example.com", Target: "db"})
		w.Output([]byte("output of " + id + "\r\n"))
		m, err := w.Close(recorder.ExitInfo{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := log.Append(recorder.LogRecord(m)); err != nil {
			t.Fatal(err)
		}
		zero := 0
		st.EndSession(t.Context(), id, store.SessionEnd{At: m.End, ExitStatus: &zero})
		st.Audit(t.Context(), store.Event{Type: "session.end", Outcome: store.OutcomeInfo, SessionID: id, Identity: "alice@example.com", Target: "db"})
	}
	st.Audit(t.Context(), store.Event{Type: "retention.delete", Outcome: store.OutcomeInfo, SessionID: "deleted-1"})
	st.MarkDeleted(t.Context(), "deleted-1", time.Now(), "retention")
	os.Remove(filepath.Join(dir, "recordings", "deleted-1.cast"))
	head, err := st.ChainHead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := log.Append(recorder.AuditCheckpointRecord(head.Seq, head.Hash, head.Start, time.Now())); err != nil {
		t.Fatal(err)
	}
	return dir, key, st
}

func TestExportThenVerify(t *testing.T) {
	dir, key, st := writeData(t)
	var buf bytes.Buffer
	var progress []int64
	rep, err := Export(t.Context(), &buf, st, Options{LogDir: filepath.Join(dir, "log"), RecordingsDir: filepath.Join(dir, "recordings"), Key: key,
		Progress: func(done, total int64) { progress = append(progress, done) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sessions) != 2 || rep.Audit.Checkpoint == 0 || rep.Audit.Unanchored != 0 || len(rep.Problems) != 0 {
		t.Fatalf("report: %+v", rep)
	}
	if len(progress) == 0 {
		t.Error("no progress reported")
	}
	res, err := Verify(bytes.NewReader(buf.Bytes()), key.Public().(ed25519.PublicKey))
	if err != nil || !res.OK() || res.Sessions != 2 || res.Events == 0 {
		t.Fatalf("verify: %+v, %v", res, err)
	}
	// Only the identity's events, with the others' digests between them.
	buf.Reset()
	if _, err := Export(t.Context(), &buf, st, Options{Filter: Filter{Session: "kept-1"}, LogDir: filepath.Join(dir, "log"), RecordingsDir: filepath.Join(dir, "recordings"), Key: key}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "deleted-1") {
		t.Error("a session outside the filter is in the bundle")
	}
	res, err = Verify(bytes.NewReader(buf.Bytes()), nil)
	if err != nil || !res.OK() || res.Sessions != 1 {
		t.Fatalf("filtered bundle: %+v, %v", res, err)
	}
	// A bundle checked against another key fails, naming the key.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	res, _ = Verify(bytes.NewReader(buf.Bytes()), other.Public().(ed25519.PublicKey))
	if res.OK() || !strings.Contains(res.Problems[0], "keys/signing_key.pub") {
		t.Errorf("another key: %q", res.Problems)
	}
}
