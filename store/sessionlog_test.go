package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bastion-ssh/bastion/recorder"
)

// The session log in the store (recorder.SharedLog on these tables), on
// both backends: appends verify and prove, every attack on its rows is
// named by verification and refused by the next append where it touches
// the tail, and two nodes appending at once make one log.

var (
	logKey      = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	logPub      = logKey.Public().(ed25519.PublicKey)
	otherLogKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{4}, ed25519.SeedSize))
)

func logRecord(i int) []byte {
	return fmt.Appendf(nil, `{"type":"bastion.session.v1","session_id":"s%d","chain":"%064x"}`, i, i)
}

// newSharedLog opens the session log of s and appends n records.
func newSharedLog(t *testing.T, s *Store, n int) *recorder.SharedLog {
	t.Helper()
	l, err := recorder.OpenSharedLog(t.Context(), s, logKey)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := l.Append(logRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func TestSessionLogAppendProveReopen(t *testing.T) {
	forEachBackend(t, testSessionLogAppendProveReopen)
}

func testSessionLogAppendProveReopen(t *testing.T, be backend) {
	s := be.new(t)
	l := newSharedLog(t, s, 11)
	snap, err := recorder.SnapshotShared(t.Context(), s, logPub)
	if err != nil {
		t.Fatal(err)
	}
	if size, root := l.Root(); snap.Tree.N != 11 || size != 11 || root != snap.Tree.Hash || !bytes.Equal(snap.Head, l.SignedHead()) {
		t.Fatalf("snapshot %+v, log %d %v", snap.Tree, size, root)
	}
	for i, e := range snap.Entries {
		if e.SessionID != fmt.Sprintf("s%d", i) || !bytes.Equal(e.Raw, logRecord(i)) {
			t.Errorf("entry %d = %+v", i, e)
		}
		p, err := snap.Prove(int64(i))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := p.Check(snap.Head, logPub); err != nil || got.SessionID != e.SessionID {
			t.Errorf("inclusion of %d: %+v, %v", i, got, err)
		}
	}
	// A head saved along the way is extended by the log reopened and
	// appended to; a head from another log is not.
	saved := l.SignedHead()
	l2, err := recorder.OpenSharedLog(t.Context(), s, logKey)
	if err != nil {
		t.Fatal(err)
	}
	if idx, err := l2.Append(logRecord(11)); err != nil || idx != 11 {
		t.Fatalf("append after reopening: %d, %v", idx, err)
	}
	snap, err = recorder.SnapshotShared(t.Context(), s, logPub)
	if err != nil {
		t.Fatal(err)
	}
	if old, err := snap.CheckExtends(saved, logPub); err != nil || old.N != 11 || snap.Tree.N != 12 {
		t.Errorf("CheckExtends(saved head) = %+v, %v", old, err)
	}
	other := be.new(t)
	ol := newSharedLog(t, other, 0)
	for i := range 13 {
		if _, err := ol.Append(logRecord(100 + i)); err != nil {
			t.Fatal(err)
		}
	}
	otherSnap, err := recorder.SnapshotShared(t.Context(), other, logPub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snap.CheckExtends(otherSnap.Head, logPub); !errors.Is(err, recorder.ErrRollback) {
		t.Errorf("a longer log's head: %v, want ErrRollback", err)
	}
	if _, err := otherSnap.CheckExtends(snap.Head, logPub); !errors.Is(err, recorder.ErrLogMismatch) {
		t.Errorf("another log's head: %v, want ErrLogMismatch", err)
	}
	// The signing key is checked.
	if _, err := recorder.SnapshotShared(t.Context(), s, otherLogKey.Public().(ed25519.PublicKey)); !errors.Is(err, recorder.ErrBadSignature) {
		t.Errorf("verified with another key: %v", err)
	}
	if _, err := recorder.OpenSharedLog(t.Context(), s, otherLogKey); !errors.Is(err, recorder.ErrBadSignature) {
		t.Errorf("opened with another key: %v", err)
	}
}

// Someone who can write the database but has not the signing key edits
// the log's rows. Verification names each edit; an edit at the tail is
// refused by the next append (from a node that was running all along, and
// from one that opens the log afresh); none is ever signed over.
func TestSessionLogAttacks(t *testing.T) { forEachBackend(t, testSessionLogAttacks) }

func testSessionLogAttacks(t *testing.T, be backend) {
	const n = 6
	zero := make([]byte, 32)
	for _, tc := range []struct {
		name string
		sql  string
		args []any
		// tail: the next append must refuse it.
		tail bool
		want error
	}{
		{"edited record", `UPDATE log_records SET record = ? WHERE idx = 2`, []any{logRecord(9)}, false, recorder.ErrLogMismatch},
		{"edited last record", `UPDATE log_records SET record = ? WHERE idx = 5`, []any{logRecord(9)}, true, recorder.ErrLogMismatch},
		{"deleted record", `DELETE FROM log_records WHERE idx = 2`, nil, false, recorder.ErrLogMismatch},
		{"deleted last record", `DELETE FROM log_records WHERE idx = 5`, nil, true, recorder.ErrLogMismatch},
		{"reordered records", `UPDATE log_records SET idx = -1 WHERE idx = 1; UPDATE log_records SET idx = 1 WHERE idx = 2; UPDATE log_records SET idx = 2 WHERE idx = -1`, nil, false, recorder.ErrLogMismatch},
		{"inserted record", `INSERT INTO log_records (idx, record) VALUES (6, ?)`, []any{logRecord(9)}, true, recorder.ErrLogMismatch},
		{"record inserted before the first", `INSERT INTO log_records (idx, record) VALUES (-1, ?)`, []any{logRecord(9)}, false, errLogShape},
		{"newest head replaced with an older one", `UPDATE log_heads SET head = (SELECT head FROM log_heads WHERE size = 3) WHERE size = 6`, nil, true, recorder.ErrLogMismatch},
		{"newest head dropped", `DELETE FROM log_heads WHERE size = 6`, nil, true, recorder.ErrLogMismatch},
		{"newest head re-signed by another key", `UPDATE log_heads SET head = ? WHERE size = 6`, []any{nil}, true, recorder.ErrBadSignature},
		{"edited leaf hash", `UPDATE log_hashes SET hash = ? WHERE idx = 0`, []any{zero}, false, recorder.ErrLogMismatch},
		{"edited hash at the tail", `UPDATE log_hashes SET hash = ? WHERE idx = (SELECT MAX(idx) FROM log_hashes)`, []any{zero}, true, recorder.ErrLogMismatch},
		{"deleted hash", `DELETE FROM log_hashes WHERE idx = 1`, nil, false, recorder.ErrLogMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := be.new(t)
			l := newSharedLog(t, s, n)
			args := tc.args
			if tc.want == recorder.ErrBadSignature {
				args = []any{signedByOther(t, be)}
			}
			for _, q := range strings.Split(tc.sql, "; ") {
				if _, err := s.db.ExecContext(t.Context(), q, args...); err != nil {
					t.Fatal(err)
				}
			}
			refused := func(err error) bool {
				if tc.want == errLogShape {
					return err != nil && strings.Contains(err.Error(), "store: session log: log_records holds a row at index -1")
				}
				return errors.Is(err, tc.want)
			}
			if _, err := recorder.SnapshotShared(t.Context(), s, logPub); !refused(err) {
				t.Errorf("verify: %v, want %v", err, tc.want)
			}
			if _, err := recorder.OpenSharedLog(t.Context(), s, logKey); !refused(err) {
				t.Errorf("open: %v, want %v", err, tc.want)
			}
			_, err := l.Append(logRecord(7))
			switch {
			case tc.tail && !refused(err):
				t.Errorf("append over the tampered tail: %v, want %v", err, tc.want)
			case !tc.tail && err != nil:
				t.Errorf("append: %v", err)
			}
			// Whatever the append did, the edit stays visible.
			if _, err := recorder.SnapshotShared(t.Context(), s, logPub); !refused(err) {
				t.Errorf("verify after the append: %v, want %v", err, tc.want)
			}
		})
	}
}

// errLogShape stands for the store's refusal to lay out rows that no
// append writes (a negative or far-off index): ReadLog fails.
var errLogShape = errors.New("rows no append writes")

// signedByOther returns the head of a 6-record log signed by another key.
func signedByOther(t *testing.T, be backend) []byte {
	t.Helper()
	s := be.new(t)
	l, err := recorder.OpenSharedLog(t.Context(), s, otherLogKey)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if _, err := l.Append(logRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	return l.SignedHead()
}

// The log rolled back to an older state, consistent in itself (the newest
// records, hashes and heads removed together): a node that saw the newer
// head refuses to append, and a head saved outside the database names it.
func TestSessionLogRollback(t *testing.T) { forEachBackend(t, testSessionLogRollback) }

func testSessionLogRollback(t *testing.T, be backend) {
	s := be.new(t)
	l := newSharedLog(t, s, 6)
	saved := l.SignedHead()
	for _, q := range []string{`DELETE FROM log_records WHERE idx >= 4`, `DELETE FROM log_hashes WHERE idx >= 7`,
		`DELETE FROM log_heads WHERE size > 4`} {
		if _, err := s.db.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := recorder.SnapshotShared(t.Context(), s, logPub)
	if err != nil || snap.Tree.N != 4 {
		t.Fatalf("the rolled-back log, alone: %+v, %v", snap, err)
	}
	if _, err := snap.CheckExtends(saved, logPub); !errors.Is(err, recorder.ErrRollback) {
		t.Errorf("against the saved head: %v, want ErrRollback", err)
	}
	if _, err := l.Append(logRecord(9)); !errors.Is(err, recorder.ErrRollback) {
		t.Errorf("append by the node that saw 6 records: %v, want ErrRollback", err)
	}
}

// Two nodes (two stores on one database) append at once: one log, every
// record once, every head extending the one before.
func TestSessionLogConcurrentNodes(t *testing.T) { forEachBackend(t, testSessionLogConcurrentNodes) }

func testSessionLogConcurrentNodes(t *testing.T, be backend) {
	c := be.fresh(t)
	a, b := be.open(t, c), be.open(t, c)
	var logs [2]*recorder.SharedLog
	var wg sync.WaitGroup
	for i, s := range []*Store{a, b} { // both start the log at once
		wg.Go(func() {
			l, err := recorder.OpenSharedLog(t.Context(), s, logKey)
			if err != nil {
				t.Error(err)
			}
			logs[i] = l
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	const each = 15
	indexes := make(chan int64, 2*each*2)
	for node := range 2 {
		for g := range 2 {
			wg.Go(func() {
				for i := range each {
					idx, err := logs[node].Append(logRecord(1000*node + 100*g + i))
					if err != nil {
						t.Error(err)
						return
					}
					indexes <- idx
				}
			})
		}
	}
	wg.Wait()
	close(indexes)
	seen := map[int64]bool{}
	for idx := range indexes {
		if seen[idx] {
			t.Errorf("index %d given twice", idx)
		}
		seen[idx] = true
	}
	snap, err := recorder.SnapshotShared(t.Context(), b, logPub)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Tree.N != 4*each || len(seen) != 4*each {
		t.Fatalf("log of %d records, %d indexes returned; want %d", snap.Tree.N, len(seen), 4*each)
	}
	records := map[string]bool{}
	for _, e := range snap.Entries {
		records[e.SessionID] = true
	}
	if len(records) != 4*each {
		t.Errorf("%d distinct records in the log; want %d", len(records), 4*each)
	}
	heads, _, _, err := a.ReadLog(t.Context())
	if err != nil || len(heads) != 4*each+1 {
		t.Fatalf("%d heads stored, %v; want one per append and the empty tree's", len(heads), err)
	}
	for _, h := range heads {
		if _, err := snap.CheckExtends(h, logPub); err != nil {
			t.Errorf("a stored head is not a prefix of the log: %v", err)
		}
	}
}

// flakyStorage is the store whose first appends fail: before the
// transaction (the database unreachable) or after its commit (the
// connection lost with the answer).
type flakyStorage struct {
	*Store
	failures    int  // appends still to fail
	afterCommit bool // fail after the append committed
	calls       int
}

var errFlaky = errors.New("connection reset by peer")

func (f *flakyStorage) AppendLog(ctx context.Context, record []byte, extend LogExtendFunc) (int64, error) {
	f.calls++
	if f.failures == 0 {
		return f.Store.AppendLog(ctx, record, extend)
	}
	f.failures--
	if f.afterCommit {
		if _, err := f.Store.AppendLog(ctx, record, extend); err != nil {
			return 0, err
		}
	}
	return 0, errFlaky
}

// An append that fails for want of the database is tried again, and one
// whose commit was lost is not stored twice; one refused because the log
// does not check out is not tried again.
func TestSessionLogAppendRetries(t *testing.T) { forEachBackend(t, testSessionLogAppendRetries) }

func testSessionLogAppendRetries(t *testing.T, be backend) {
	for _, afterCommit := range []bool{false, true} {
		s := be.new(t)
		f := &flakyStorage{Store: s}
		l, err := recorder.OpenSharedLog(t.Context(), f, logKey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(logRecord(0)); err != nil {
			t.Fatal(err)
		}
		f.failures, f.afterCommit, f.calls = 2, afterCommit, 0
		idx, err := l.Append(logRecord(1))
		// Lost after its commit, the first attempt stored the record: the
		// second finds it at the tail.
		want := 3
		if afterCommit {
			want = 2
		}
		if err != nil || idx != 1 || f.calls != want {
			t.Errorf("after commit %v: index %d, %v, after %d attempts; want 1 after %d", afterCommit, idx, err, f.calls, want)
		}
		snap, err := recorder.SnapshotShared(t.Context(), s, logPub)
		if err != nil || snap.Tree.N != 2 {
			t.Fatalf("after commit %v: the log holds %+v, %v; want 2 records", afterCommit, snap, err)
		}
		if _, err := l.Append(logRecord(2)); err != nil {
			t.Errorf("the append after: %v", err)
		}
		if _, err := s.db.ExecContext(t.Context(), `DELETE FROM log_heads WHERE size = 3`); err != nil {
			t.Fatal(err)
		}
		f.calls = 0
		if _, err := l.Append(logRecord(3)); !errors.Is(err, recorder.ErrLogMismatch) || f.calls != 1 {
			t.Errorf("a tampered tail: %v after %d attempts; want ErrLogMismatch after 1", err, f.calls)
		}
	}
}
