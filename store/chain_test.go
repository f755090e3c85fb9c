package store

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// chainStore returns a store holding the chain start and ten events, and a
// checkpoint of its head.
func chainStore(t *testing.T, b backend) (*Store, ChainHead) {
	t.Helper()
	s := b.new(t)
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range 10 {
		ev := int64(i)
		if err := s.Audit(t.Context(), Event{At: at.Add(time.Duration(i) * time.Second), Type: "session.start",
			Outcome: OutcomeAllowed, SessionID: fmt.Sprintf("s-%d", i), Identity: "alice@example.com",
			Reason: "rule ops", RecEvent: &ev, Detail: map[string]any{"n": i}}); err != nil {
			t.Fatal(err)
		}
	}
	head, err := s.ChainHead(t.Context())
	if err != nil || head.Seq != 11 || head.Start != 1 {
		t.Fatalf("chain head = %+v, %v", head, err)
	}
	return s, head
}

func exec(t *testing.T, s *Store, q string, args ...any) {
	t.Helper()
	if _, err := s.db.ExecContext(t.Context(), q, args...); err != nil {
		t.Fatal(err)
	}
}

func TestChainDetectsTampering(t *testing.T) { forEachBackend(t, testChainDetectsTampering) }

func testChainDetectsTampering(t *testing.T, b backend) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, s *Store)
		want   string // in the first problem
		first  int64
	}{
		{"untouched", func(*testing.T, *Store) {}, "", 0},
		{"modify-field", func(t *testing.T, s *Store) {
			exec(t, s, `UPDATE audit_events SET identity = 'mallory@example.com' WHERE seq = 5`)
		}, "audit event 5 was modified", 5},
		{"modify-detail", func(t *testing.T, s *Store) {
			exec(t, s, `UPDATE audit_events SET detail = '{"n":99}' WHERE seq = 7`)
		}, "audit event 7 was modified", 7},
		{"delete-row", func(t *testing.T, s *Store) {
			exec(t, s, `DELETE FROM audit_events WHERE seq = 4`)
		}, "audit events 4 to 4 were deleted", 4},
		{"reorder-two", func(t *testing.T, s *Store) {
			// Swap the contents of rows 3 and 6, hashes included.
			exec(t, s, `UPDATE audit_events SET seq = 100 WHERE seq = 3`)
			exec(t, s, `UPDATE audit_events SET seq = 3 WHERE seq = 6`)
			exec(t, s, `UPDATE audit_events SET seq = 6 WHERE seq = 100`)
		}, "audit event 3 was modified or moved", 3},
		{"blank-hash", func(t *testing.T, s *Store) {
			exec(t, s, `UPDATE audit_events SET hash = '', prev_hash = '' WHERE seq = 9`)
		}, "audit event 9 carries no chain hash", 9},
		{"truncate-tail", func(t *testing.T, s *Store) {
			exec(t, s, `DELETE FROM audit_events WHERE seq > 8`)
		}, "audit events 9 to 11 were deleted", 9},
		{"rehash-after-edit", func(t *testing.T, s *Store) {
			// Someone who knows the (public) chain rule edits an event and
			// recomputes every hash after it: only the checkpoint notices.
			exec(t, s, `UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 4`)
			rehash(t, s, 4)
		}, "audit events 1 to 11 differ from the signed checkpoint at event 11", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, head := chainStore(t, b)
			c.tamper(t, s)
			r, err := s.VerifyChain(t.Context(), []ChainHead{head})
			if err != nil {
				t.Fatal(err)
			}
			if c.want == "" {
				if !r.OK() || r.Checkpoints != 1 || r.Chained != 11 {
					t.Fatalf("untouched chain: %+v", r)
				}
				return
			}
			if r.OK() || !strings.Contains(r.Problems[0], c.want) || r.FirstBad != c.first {
				t.Errorf("problems = %q, first bad %d; want %q, %d", r.Problems, r.FirstBad, c.want, c.first)
			}
		})
	}
}

// A forged event inserted into the middle (the rows after it renumbered)
// or appended with a made-up hash is named.
func TestChainDetectsInsertedEvent(t *testing.T) { forEachBackend(t, testChainDetectsInsertedEvent) }

func testChainDetectsInsertedEvent(t *testing.T, b backend) {
	s, head := chainStore(t, b)
	for seq := int64(11); seq >= 6; seq-- {
		exec(t, s, `UPDATE audit_events SET seq = ? WHERE seq = ?`, seq+1, seq)
	}
	exec(t, s, `INSERT INTO audit_events (seq, at, type, outcome, identity, prev_hash, hash)
		SELECT 6, at, 'approval.granted', 'allowed', 'mallory@example.com', hash, 'ab' FROM audit_events WHERE seq = 5`)
	r, err := s.VerifyChain(t.Context(), []ChainHead{head})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || r.FirstBad != 6 || !strings.Contains(r.Problems[0], "audit event 6 was modified") {
		t.Errorf("inserted event: %q (first bad %d)", r.Problems, r.FirstBad)
	}
}

// A database rebuilt by someone without the signing key has a valid chain
// of its own, but not the one the signed checkpoint holds.
func TestChainDetectsRebuiltDatabase(t *testing.T) {
	forEachBackend(t, testChainDetectsRebuiltDatabase)
}

func testChainDetectsRebuiltDatabase(t *testing.T, b backend) {
	_, head := chainStore(t, b)
	rebuilt, _ := chainStore(t, b) // same events, written again: a different chain start time
	r, err := rebuilt.VerifyChain(t.Context(), []ChainHead{head})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || !strings.Contains(r.Problems[0], "differ from the signed checkpoint") {
		t.Errorf("rebuilt database: %q", r.Problems)
	}
}

// rehash recomputes the chain from seq on, as an attacker could.
func rehash(t *testing.T, s *Store, from int64) {
	t.Helper()
	rows, err := s.db.QueryContext(t.Context(), `SELECT `+eventColumns+` FROM audit_events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var all []storedEvent
	for rows.Next() {
		se, err := scanEvent(rows)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, se)
	}
	rows.Close()
	prev := ""
	for _, se := range all {
		if se.Seq >= from {
			se.prevHash = prev
			se.hash = chainHash(se, prev)
			exec(t, s, `UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?`, se.prevHash, se.hash, se.Seq)
		}
		prev = se.hash
	}
}

// A database written before the chain existed is migrated: its events
// stay, unchained, and the chain starts after them with an event that
// says so.
func TestChainMigratesOldDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bastion.db")
	old, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	// The schema before the chain, with two events and an absolute path.
	for _, q := range []string{
		`CREATE TABLE sessions (id TEXT PRIMARY KEY, conn_id TEXT NOT NULL, identity TEXT NOT NULL,
			source_addr TEXT NOT NULL, target TEXT NOT NULL, login TEXT NOT NULL, kind TEXT NOT NULL,
			command TEXT NOT NULL DEFAULT '', started_at TEXT NOT NULL, ended_at TEXT, exit_status INTEGER,
			exit_signal TEXT NOT NULL DEFAULT '', end_reason TEXT NOT NULL DEFAULT '',
			recording TEXT NOT NULL DEFAULT '', recording_size INTEGER NOT NULL DEFAULT 0)`,
		`CREATE TABLE audit_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, type TEXT NOT NULL,
			outcome TEXT NOT NULL, session_id TEXT NOT NULL DEFAULT '', conn_id TEXT NOT NULL DEFAULT '',
			identity TEXT NOT NULL DEFAULT '', source_addr TEXT NOT NULL DEFAULT '', target TEXT NOT NULL DEFAULT '',
			login TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '{}',
			rec_event INTEGER, rec_time REAL)`,
		`INSERT INTO audit_events (at, type, outcome) VALUES ('2025-01-01T00:00:00Z', 'bastion.start', 'info')`,
		`INSERT INTO audit_events (at, type, outcome) VALUES ('2025-01-01T00:00:01Z', 'auth.accept', 'allowed')`,
		`INSERT INTO sessions (id, conn_id, identity, source_addr, target, login, kind, started_at, recording)
			VALUES ('s1', 'c1', 'alice', '127.0.0.1:1', 'db', 'root', 'exec', '2025-01-01T00:00:01Z', '` +
			filepath.Join(filepath.Dir(path), "recordings", "s1.cast") + `')`,
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Audit(t.Context(), Event{Type: "bastion.start", Outcome: OutcomeInfo}); err != nil {
		t.Fatal(err)
	}
	r, err := s.VerifyChain(t.Context(), nil)
	if err != nil || !r.OK() || r.Unchained != 2 || r.Start != 3 || r.Chained != 2 {
		t.Fatalf("migrated chain: %+v, %v", r, err)
	}
	evs, _ := s.Events(t.Context(), EventFilter{Type: ChainStartType})
	if len(evs) != 1 || evs[0].Detail["unchained_through_seq"] != float64(2) {
		t.Errorf("chain start event = %+v", evs)
	}
	var stored string
	s.db.QueryRowContext(t.Context(), `SELECT recording FROM sessions WHERE id = 's1'`).Scan(&stored)
	if stored != "recordings/s1.cast" {
		t.Errorf("recording path after migration = %q, want it relative", stored)
	}
	// Reopening starts no second chain.
	s.Close()
	if s, err = Open(path); err != nil {
		t.Fatal(err)
	}
	if evs, _ := s.Events(t.Context(), EventFilter{Type: ChainStartType}); len(evs) != 1 {
		t.Errorf("%d chain starts after reopening", len(evs))
	}
}

// Writers in several goroutines and two processes' worth of stores on one
// database (the CLI beside the server; two bastion nodes on one
// PostgreSQL) keep a single chain.
func TestChainConcurrentWriters(t *testing.T) { forEachBackend(t, testChainConcurrentWriters) }

func testChainConcurrentWriters(t *testing.T, be backend) {
	c := be.fresh(t)
	a, b := be.open(t, c), be.open(t, c)
	var wg sync.WaitGroup
	errs := make(chan error, 80)
	for i := range 8 {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				errs <- st.Audit(t.Context(), Event{Type: "auth.reject", Outcome: OutcomeDenied})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	r, err := a.VerifyChain(t.Context(), nil)
	if err != nil || !r.OK() || r.Chained != 81 {
		t.Fatalf("chain after concurrent writes: %+v, %v", r, err)
	}
}
