package recorder

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// A witness outside the log directory gets every head; a log rolled back
// to an older copy, or rewritten, no longer extends the witnessed head.
func TestWitnessCatchesRollback(t *testing.T) {
	l, dir, _ := newTestLog(t, 3)
	backup := filepath.Join(t.TempDir(), "backup")
	copyDir(t, dir, backup)
	w := FileWitness(filepath.Join(t.TempDir(), "elsewhere", "head"))
	if err := l.SetWitness(w); err != nil {
		t.Fatal(err)
	}
	for _, r := range logRecords(6)[3:] {
		if _, err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	head, err := w.Head()
	if err != nil || string(head) != string(l.SignedHead()) {
		t.Fatalf("witness holds %q, %v; want the newest head", head, err)
	}
	if old, cur, err := CheckExtends(dir, testPub, head); err != nil || old.N != 6 || cur.N != 6 {
		t.Errorf("CheckExtends on the live log: %v, %v, %v", old, cur, err)
	}
	// The older copy verifies on its own, but not against the witness.
	if _, err := VerifyLog(backup, testPub); err != nil {
		t.Fatalf("the backup itself: %v", err)
	}
	if _, _, err := CheckExtends(backup, testPub, head); !errors.Is(err, ErrRollback) {
		t.Errorf("rolled-back log: %v, want ErrRollback", err)
	}
	// A log of the same size with other records (signed with the key, by
	// someone who has it) is not an extension either.
	other, odir, _ := newTestLog(t, 0)
	for _, r := range logRecords(7)[1:] {
		other.Append(r)
	}
	if _, _, err := CheckExtends(odir, testPub, head); !errors.Is(err, ErrLogMismatch) {
		t.Errorf("forked log: %v, want ErrLogMismatch", err)
	}
	// A head by another key is refused.
	if _, _, err := CheckExtends(dir, otherPub, head); !errors.Is(err, ErrBadSignature) {
		t.Errorf("head checked with another key: %v", err)
	}
}

func TestAuditCheckpointRecordsRead(t *testing.T) {
	l, dir, _ := newTestLog(t, 1)
	rec := AuditCheckpointRecord(42, "ab", 1, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, err := l.Append(rec); err != nil {
		t.Fatal(err)
	}
	entries, err := ReadLog(dir, testPub)
	if err != nil || len(entries) != 2 {
		t.Fatalf("ReadLog = %v, %v", entries, err)
	}
	if e := entries[1]; e.Type != RecordAuditCheckpoint || e.Seq != 42 || e.Hash != "ab" || e.Start != 1 || e.Index != 1 {
		t.Errorf("checkpoint entry = %+v", e)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// An HTTP witness receives each head as a POST; a witness that refuses
// makes Append say so (the record is stored, the head not anchored).
func TestHTTPWitness(t *testing.T) {
	var mu sync.Mutex // the handler runs on the server's goroutines
	var got [][]byte
	refuse := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if refuse {
			http.Error(w, "full", http.StatusInsufficientStorage)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("witness request %s %s", r.Method, r.Header.Get("Content-Type"))
		}
		got = append(got, b)
	}))
	defer srv.Close()
	l, _, _ := newTestLog(t, 1)
	if err := l.SetWitness(HTTPWitness{URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append([]byte(`{"x":1}`)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(got) != 2 || string(got[1]) != string(l.SignedHead()) {
		t.Fatalf("witness got %d heads", len(got))
	}
	refuse = true
	mu.Unlock()
	if idx, err := l.Append([]byte(`{"x":2}`)); !errors.Is(err, ErrWitness) || idx != 2 {
		t.Errorf("refused witness: %d, %v", idx, err)
	}
}

// A syslog line carries the head whole; --tree-head reads it back.
func TestParseWitnessedHead(t *testing.T) {
	l, dir, _ := newTestLog(t, 2)
	head := l.SignedHead()
	if got, err := ParseWitnessedHead(head); err != nil || string(got) != string(head) {
		t.Errorf("a plain head: %q, %v", got, err)
	}
	line := "Nov 30 10:00:00 host bastion[42]: session log head 2 abc note=" + base64.StdEncoding.EncodeToString(head) + "\n"
	got, err := ParseWitnessedHead([]byte(line))
	if err != nil || string(got) != string(head) {
		t.Fatalf("a syslog line: %q, %v", got, err)
	}
	if _, _, err := CheckExtends(dir, testPub, got); err != nil {
		t.Errorf("the head from syslog: %v", err)
	}
	if _, err := ParseWitnessedHead([]byte("x note=!!!")); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad base64: %v", err)
	}
}
