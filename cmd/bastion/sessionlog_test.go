package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bastion-ssh/bastion/internal/pgtest"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// A node upgraded from its own DATA/log to the store's shared log: its
// records are imported once, in order, never twice; a head its witness
// saved from the old log is still checked, against the old log and
// against the shared log holding all of it; a tampered old log stops the
// start.
func TestImportDirLog(t *testing.T) {
	srv := pgtest.Start(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	pub := key.Public().(ed25519.PublicKey)
	connect := func(dsn, dir string) *store.Store {
		st, err := store.Connect(t.Context(), store.Config{PostgresDSN: dsn, DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	dirLog := func(dir string, records ...string) []byte {
		l, err := recorder.OpenLog(logDir(dir), key)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		for _, r := range records {
			if _, err := l.Append([]byte(r)); err != nil {
				t.Fatal(err)
			}
		}
		return l.SignedHead()
	}
	records := func(st *store.Store) []string {
		snap, err := recorder.SnapshotShared(t.Context(), st, pub)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range snap.Entries {
			out = append(out, string(e.Raw))
		}
		return out
	}

	dsn, dir := srv.NewDatabase(t), t.TempDir()
	witnessed := dirLog(dir, `{"session_id":"old-1"}`, `{"session_id":"old-2"}`)
	st := connect(dsn, dir)
	l, err := openSessionLog(t.Context(), st, dir, key)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(records(st)); got != `[{"session_id":"old-1"} {"session_id":"old-2"}]` {
		t.Fatalf("imported: %s", got)
	}
	if _, err := os.Stat(logDir(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the imported directory is still in place: %v", err)
	}
	if err := checkExtends(t.Context(), st, dir, pub, witnessed); err != nil {
		t.Errorf("the witnessed head of the old log: %v", err)
	}
	if _, err := l.Append([]byte(`{"session_id":"new-1"}`)); err != nil {
		t.Fatal(err)
	}
	// An import cut short before the rename is finished, not repeated.
	if err := os.Rename(importedLogDir(dir), logDir(dir)); err != nil {
		t.Fatal(err)
	}
	if _, err := openSessionLog(t.Context(), st, dir, key); err != nil {
		t.Fatal(err)
	}
	if got := len(records(st)); got != 3 {
		t.Errorf("%d records after importing again; want 3", got)
	}

	// The shared log rolled back past the import (a fresh database here):
	// the old head is no alibi.
	rolled := connect(srv.NewDatabase(t), dir)
	if _, err := recorder.OpenSharedLog(t.Context(), rolled, key); err != nil {
		t.Fatal(err)
	}
	if err := checkExtends(t.Context(), rolled, dir, pub, witnessed); !errors.Is(err, recorder.ErrRollback) {
		t.Errorf("the old head against a shared log without its records: %v, want ErrRollback", err)
	}

	// A tampered old log is not imported.
	bad := t.TempDir()
	dirLog(bad, `{"session_id":"x-1"}`)
	recs := filepath.Join(logDir(bad), "records")
	if err := os.WriteFile(recs, []byte(`{"session_id":"x-2"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openSessionLog(t.Context(), connect(srv.NewDatabase(t), bad), bad, key); !errors.Is(err, recorder.ErrLogMismatch) {
		t.Errorf("a tampered old log: %v, want ErrLogMismatch", err)
	}
}
