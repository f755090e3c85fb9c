package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// The session log in the store: the Merkle log of closed sessions and
// audit checkpoints (recorder.SharedLog) that every node sharing the
// database appends to. The store keeps its rows and serialises its
// appends; what the rows mean, and whether they can be trusted, is the
// recorder's to judge (it signs and verifies the tree heads), so nothing
// here decides that a log is sound.
//
//	log_records (idx, record)  the records, numbered from 0
//	log_hashes  (idx, hash)    tlog's stored hashes, numbered as tlog numbers them
//	log_heads   (size, head)   every signed tree head, by the size it covers
//
// An append writes one record, its stored hashes and the new head in one
// transaction, so there is no half-written append to recover from (the
// directory log's head.next).

// ErrLogNotStarted is returned by AppendLog when the log has no signed
// head: StartLog must sign the empty tree first.
var ErrLogNotStarted = errors.New("store: session log not started")

// LogExtendFunc is called by AppendLog under the log's lock with the
// newest stored head (its signed text and the size it is stored under),
// end (one past the highest record index stored), last (the record at
// size-1, nil if there is none) and a reader of the stored hashes. It
// returns the stored hashes that the new record adds (tlog.StoredHashes)
// and the signed head of the tree with it; an error stops the append.
type LogExtendFunc = func(head []byte, size, end int64, last []byte, hashes tlog.HashReader) (newHashes []tlog.Hash, newHead []byte, err error)

// StartLog stores head as the signed head of the empty log, unless the log
// has a head already (another node started it).
func (s *Store) StartLog(ctx context.Context, head []byte) error {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: session log: %w", err)
	}
	defer t.Rollback() //nolint:errcheck // a no-op after Commit
	if err := t.lock(ctx, s.db.d.lockLog); err != nil {
		return fmt.Errorf("store: session log: lock: %w", err)
	}
	var heads int64
	if err := t.QueryRowContext(ctx, `SELECT COUNT(*) FROM log_heads`).Scan(&heads); err != nil {
		return fmt.Errorf("store: session log: %w", err)
	}
	if heads > 0 {
		return nil
	}
	if _, err := t.ExecContext(ctx, `INSERT INTO log_heads (size, head) VALUES (0, ?)`, head); err != nil {
		return fmt.Errorf("store: session log: %w", err)
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("store: session log: %w", err)
	}
	return nil
}

// AppendLog appends record to the session log in one transaction that is
// the log's only writer until it ends, whichever process or node runs it
// (the audit chain's lock, chain.go, on a key of its own). extend sees the
// log as it is under that lock and signs the head that the record, the
// hashes and the head are stored with. It returns the record's index.
func (s *Store) AppendLog(ctx context.Context, record []byte, extend LogExtendFunc) (int64, error) {
	idx, err := s.appendLog(ctx, record, extend)
	if err != nil {
		return 0, fmt.Errorf("store: session log append: %w", err)
	}
	return idx, nil
}

func (s *Store) appendLog(ctx context.Context, record []byte, extend LogExtendFunc) (int64, error) {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer t.Rollback() //nolint:errcheck // a no-op after Commit
	if err := t.lock(ctx, s.db.d.lockLog); err != nil {
		return 0, err
	}
	var size int64
	var head []byte
	err = t.QueryRowContext(ctx, `SELECT size, head FROM log_heads ORDER BY size DESC LIMIT 1`).Scan(&size, &head)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrLogNotStarted
	}
	if err != nil {
		return 0, err
	}
	var end int64
	if err := t.QueryRowContext(ctx, `SELECT COALESCE(MAX(idx) + 1, 0) FROM log_records`).Scan(&end); err != nil {
		return 0, err
	}
	var last []byte
	if size > 0 {
		err := t.QueryRowContext(ctx, `SELECT record FROM log_records WHERE idx = ?`, size-1).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
	}
	hs, next, err := extend(head, size, end, last, hashReader{ctx, t})
	if err != nil {
		return 0, err
	}
	if _, err := t.ExecContext(ctx, `INSERT INTO log_records (idx, record) VALUES (?, ?)`, size, record); err != nil {
		return 0, err
	}
	first := tlog.StoredHashCount(size)
	for i, h := range hs {
		if _, err := t.ExecContext(ctx, `INSERT INTO log_hashes (idx, hash) VALUES (?, ?)`, first+int64(i), h[:]); err != nil {
			return 0, err
		}
	}
	if _, err := t.ExecContext(ctx, `INSERT INTO log_heads (size, head) VALUES (?, ?)`, size+1, next); err != nil {
		return 0, err
	}
	if err := t.Commit(); err != nil {
		return 0, err
	}
	return size, nil
}

// hashReader reads stored hashes in the append's transaction. A hash
// that is missing or not 32 bytes reads as what is stored, zero-filled
// (as in ReadLog): what is wrong with the log is the recorder's to find,
// so an error here always means the database did not answer.
type hashReader struct {
	ctx context.Context
	t   txn
}

// ReadHashes implements tlog.HashReader.
func (r hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	args := make([]any, len(indexes))
	for i, x := range indexes {
		args[i] = x
	}
	q := `SELECT idx, hash FROM log_hashes WHERE idx IN (?` + strings.Repeat(", ?", len(indexes)-1) + `)`
	rows, err := r.t.QueryContext(r.ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make(map[int64]tlog.Hash, len(indexes))
	for rows.Next() {
		var idx int64
		var b []byte
		if err := rows.Scan(&idx, &b); err != nil {
			return nil, err
		}
		var h tlog.Hash
		copy(h[:], b)
		found[idx] = h
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = found[x]
	}
	return out, nil
}

// maxLogGap bounds how far past its row count a record or hash index may
// lie before ReadLog refuses the log instead of laying out the gap.
const maxLogGap = 1 << 20

// ReadLog reads the whole session log as it stood at one moment: every
// head, by size; the records, records[i] being the one stored as index i
// (nil where none is); the stored hashes likewise (zero where none is).
// What was read is what verification gets to judge: nothing is checked
// here but that the rows fit in memory.
func (s *Store) ReadLog(ctx context.Context) (heads, records [][]byte, hashes []tlog.Hash, err error) {
	// An append commits its record, hashes and head together, so a log
	// whose newest head is the same before and after the rows are read
	// was read as it stood at one moment (whatever the isolation level);
	// one that grew meanwhile is read again.
	for range logReadAttempts {
		before, err := s.newestLogSize(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		if heads, records, hashes, err = s.readLog(ctx, before); err != nil {
			return nil, nil, nil, err
		}
		after, err := s.newestLogSize(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		if after == before {
			return heads, records, hashes, nil
		}
	}
	return nil, nil, nil, fmt.Errorf("store: session log: it grew while being read, %d times", logReadAttempts)
}

// logReadAttempts bounds ReadLog's attempts on a log that keeps growing.
const logReadAttempts = 10

func (s *Store) newestLogSize(ctx context.Context) (int64, error) {
	var size int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(size), -1) FROM log_heads`).Scan(&size); err != nil {
		return 0, fmt.Errorf("store: session log: %w", err)
	}
	return size, nil
}

func (s *Store) readLog(ctx context.Context, size int64) (heads, records [][]byte, hashes []tlog.Hash, err error) {
	if err := s.readRows(ctx, `SELECT size, head FROM log_heads WHERE size >= ? ORDER BY size`, -1<<62, func(_ int64, b []byte) {
		heads = append(heads, b)
	}); err != nil {
		return nil, nil, nil, err
	}
	if err := s.readIndexed(ctx, `log_records`, `record`, size, func(n int) { records = make([][]byte, n) },
		func(i int64, b []byte) { records[i] = b }); err != nil {
		return nil, nil, nil, err
	}
	if err := s.readIndexed(ctx, `log_hashes`, `hash`, tlog.StoredHashCount(max(size, 0)), func(n int) { hashes = make([]tlog.Hash, n) },
		func(i int64, b []byte) { copy(hashes[i][:], b) }); err != nil {
		return nil, nil, nil, err
	}
	return heads, records, hashes, nil
}

// readIndexed reads the rows of table (idx, col) with idx below limit,
// plus any beyond it, into a slice laid out by idx that alloc makes.
func (s *Store) readIndexed(ctx context.Context, table, col string, limit int64, alloc func(int), set func(int64, []byte)) error {
	var rows, end, least int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(idx) + 1, 0), COALESCE(MIN(idx), 0) FROM `+table).Scan(&rows, &end, &least)
	if err != nil {
		return fmt.Errorf("store: session log: %w", err)
	}
	if least < 0 {
		return fmt.Errorf("store: session log: %s holds a row at index %d", table, least)
	}
	if end > rows+maxLogGap {
		return fmt.Errorf("store: session log: %s: index %d with only %d rows", table, end-1, rows)
	}
	alloc(int(max(end, limit, 0)))
	return s.readRows(ctx, `SELECT idx, `+col+` FROM `+table+` WHERE idx < ? ORDER BY idx`, max(end, limit), set)
}

func (s *Store) readRows(ctx context.Context, q string, arg int64, fn func(int64, []byte)) error {
	rows, err := s.db.QueryContext(ctx, q, arg)
	if err != nil {
		return fmt.Errorf("store: session log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int64
		var b []byte
		if err := rows.Scan(&i, &b); err != nil {
			return fmt.Errorf("store: session log: %w", err)
		}
		fn(i, b)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: session log: %w", err)
	}
	return nil
}
