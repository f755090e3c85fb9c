package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver, for the attacker's edits

	"github.com/bastion-ssh/bastion/evidence"
	"github.com/bastion-ssh/bastion/internal/pgtest"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// Two nodes on one PostgreSQL close sessions and enter audit checkpoints
// into the one session log the store holds. verify --all, given the
// database, checks both nodes' sessions and checkpoints against it and a
// head saved on either node; a record edited in the database is named.
func TestVerifyAllSharedLog(t *testing.T) {
	dsn := pgtest.Start(t).NewDatabase(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	dir := t.TempDir()
	sc := store.Config{PostgresDSN: dsn, DataDir: dir}
	node := func() *testData {
		st, err := store.Connect(t.Context(), sc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		l, err := openSessionLog(t.Context(), st, dir, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := l.(*recorder.SharedLog); !ok {
			t.Fatalf("on PostgreSQL the session log is a %T", l)
		}
		return &testData{dir: dir, key: key, st: st, log: l, rows: map[string]store.Session{}}
	}
	a, b := node(), node()
	a.session(t, "a-closed", true)
	b.session(t, "b-closed", true)
	a.session(t, "a-crashed", false)
	checkpoint := func(d *testData) {
		if err := d.st.Audit(t.Context(), store.Event{Type: "test.event", Outcome: store.OutcomeInfo}); err != nil {
			t.Fatal(err)
		}
		c := &auditCheckpointer{store: d.st, log: d.log, logger: slog.New(slog.DiscardHandler)}
		if err := c.checkpoint(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	checkpoint(a)
	savedOnA := a.log.(*recorder.SharedLog).SignedHead()
	checkpoint(b)
	b.session(t, "b-closed-2", true)

	pub := key.Public().(ed25519.PublicKey)
	verify := func() *verifyReport {
		r, err := verifyAll(t.Context(), verifyInput{dataDir: dir, recordingsDir: filepath.Join(dir, "recordings"), pub: pub,
			store: &sc, heads: []savedHead{{from: "node A's witness", head: savedOnA}}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := verify()
	v := verdicts(r)
	if len(r.Problems) != 0 || !r.Log.Shared || r.Log.Records != 5 || r.Log.Sessions != 3 || r.Log.Checkpoints != 2 ||
		len(r.Log.Heads) != 1 || r.Audit.Checkpoints != 2 {
		t.Fatalf("report: %+v", r)
	}
	for _, id := range []string{"a-closed", "b-closed", "b-closed-2"} {
		if v[id].Verdict != verdictVerified {
			t.Errorf("%s: %+v", id, v[id])
		}
	}

	// An evidence bundle from the shared log proves each session's
	// inclusion against its head, checked with nothing but the key.
	snap, err := snapshotSessionLog(t.Context(), b.st, dir, pub)
	if err != nil {
		t.Fatal(err)
	}
	var bundle bytes.Buffer
	if _, err := evidence.Export(t.Context(), &bundle, b.st, evidence.Options{Log: snap,
		RecordingsDir: filepath.Join(dir, "recordings"), Key: key}); err != nil {
		t.Fatal(err)
	}
	if res, err := evidence.Verify(&bundle, pub); err != nil || !res.OK() || res.Sessions != 4 {
		t.Errorf("the bundle from the shared log: %+v, %v", res, err)
	}

	// Someone with the database but not the key edits node A's record.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`UPDATE log_records SET record = convert_to(replace(convert_from(record, 'UTF8'), 'a-closed', 'a-forged'), 'UTF8')
		WHERE idx = 0 AND position('a-closed' in convert_from(record, 'UTF8')) > 0`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("the edit changed %d rows", n)
	}
	r = verify()
	if !strings.Contains(strings.Join(r.Problems, "\n"), "session log: recorder: session log mismatch: the records do not hash") {
		t.Errorf("an edited log record, verified: %q", r.Problems)
	}
	if _, err := b.log.Append([]byte(`{"type":"x"}`)); err != nil {
		t.Errorf("an edit behind the tail stops no append: %v", err)
	}
	if _, err := openSessionLog(t.Context(), b.st, dir, key); err == nil {
		t.Error("a node started on the edited log")
	}
}
