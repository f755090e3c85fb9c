package recorder

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// LogStorage keeps the rows of a SharedLog and serialises its appends
// across every process that shares it (store.Store, on PostgreSQL or
// SQLite). It judges nothing: the SharedLog verifies what it reads.
type LogStorage interface {
	// StartLog stores head as the head of the empty log, unless the log
	// has a head already.
	StartLog(ctx context.Context, head []byte) error
	// AppendLog runs extend while no other append can run, with the
	// newest stored head, the size it is stored under, one past the
	// highest record index, the record at size-1 (nil if none) and a
	// reader of the stored hashes; then stores record at index size, the
	// hashes extend returns, and its head, all or nothing. It returns the
	// record's index.
	AppendLog(ctx context.Context, record []byte,
		extend func(head []byte, size, end int64, last []byte, hashes tlog.HashReader) ([]tlog.Hash, []byte, error)) (int64, error)
	LogReader
}

// LogReader reads a whole shared log at one moment: its heads in size
// order, records[i] the record stored at index i (nil if none), hashes[i]
// the stored hash i (zero if none).
type LogReader interface {
	ReadLog(ctx context.Context) (heads, records [][]byte, hashes []tlog.Hash, err error)
}

// sharedAppendTimeout bounds one append, the wait for the lock included:
// the server's SessionLog interface carries no context, and a session's
// close must not hang on a database that went away.
const sharedAppendTimeout = 30 * time.Second

// A SharedLog is the session log kept in a database that several bastion
// nodes share, so that the cluster has one Merkle log: the same records,
// tree heads and proofs as [Log], each append made under a lock that
// spans the nodes and signed by the one signing key the nodes share.
//
// Before it signs, an append checks the log's tail against the newest
// signed head: the head's signature, that no record lies beyond it, that
// the last record is the one the head covers, that the stored hashes
// hash to its root, and that it extends every head this process saw. So a
// record added or a head rolled back by someone without the key is
// refused, never signed over; a record edited further back is not in
// any tree a head signs (the tree keeps its original hash), and
// verification ([SnapshotShared]) names it. Its methods are safe for
// concurrent use.
type SharedLog struct {
	storage  LogStorage
	signer   note.Signer
	verifier note.Verifier

	mu      sync.Mutex
	known   tlog.Tree // the newest tree this process verified or signed; guarded by mu
	head    []byte    // its signed head; guarded by mu
	witness Witness   // receives every head this process signs, or nil; guarded by mu
}

// OpenSharedLog opens the shared log in storage, signing the empty tree if
// the log is new, and verifies the whole of it ([SnapshotShared]): a
// tampered log is refused (ErrLogMismatch, ErrBadSignature) and never
// signed again. The signer (Ed25519) is the key every node shares.
func OpenSharedLog(ctx context.Context, storage LogStorage, signer crypto.Signer) (*SharedLog, error) {
	ls, v, err := newLogSigner(signer)
	if err != nil {
		return nil, err
	}
	l := &SharedLog{storage: storage, signer: ls, verifier: v}
	empty, err := tlog.TreeHash(0, nil)
	if err != nil {
		return nil, fmt.Errorf("recorder: log: %w", err)
	}
	head, err := signHead(l.signer, 0, empty)
	if err != nil {
		return nil, err
	}
	if err := storage.StartLog(ctx, head); err != nil {
		return nil, err
	}
	snap, err := snapshotShared(ctx, storage, v)
	if err != nil {
		return nil, err
	}
	l.known, l.head = snap.Tree, snap.Head
	return l, nil
}

// Append adds record, which must be non-empty and hold no newline, signs
// the new tree head and hands it to the witness. It returns the record's
// index. An error from the witness is ErrWitness: the record is in.
//
// An attempt that fails for another reason than the log's state (the
// database went away, a failover) is tried again with backoff until
// sharedAppendTimeout; one refused because the log does not check out is
// not. An attempt whose commit was lost with its connection may have
// stored the record: the next attempt finds it at the tail and returns
// its index rather than store it twice.
func (l *SharedLog) Append(record []byte) (int64, error) {
	if len(record) == 0 || len(record) > maxLogRecord || bytes.IndexByte(record, '\n') >= 0 {
		return 0, errors.New("recorder: log: a record must be one non-empty line of at most 64 KiB")
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedAppendTimeout)
	defer cancel()
	l.mu.Lock()
	defer l.mu.Unlock()
	wait := sharedRetryFirst
	for attempt := 0; ; attempt++ {
		idx, err := l.appendOnce(ctx, record, attempt > 0)
		if err == nil || errors.Is(err, ErrWitness) || refusal(err) || ctx.Err() != nil {
			return idx, err
		}
		select {
		case <-ctx.Done():
			return 0, err
		case <-time.After(wait):
		}
		wait = min(2*wait, sharedRetryMax)
	}
}

// Backoff between attempts of one append.
const (
	sharedRetryFirst = 100 * time.Millisecond
	sharedRetryMax   = 2 * time.Second
)

// refusal reports whether err says the log does not check out, which no
// retry mends.
func refusal(err error) bool {
	return errors.Is(err, ErrLogMismatch) || errors.Is(err, ErrBadSignature) || errors.Is(err, ErrRollback) || errors.Is(err, ErrMalformed)
}

// errStoredAlready stops an attempt that finds its record at the tail.
var errStoredAlready = errors.New("recorder: log: record stored by an earlier attempt")

// appendOnce makes one attempt; retry says an earlier attempt failed and
// may have stored the record.
func (l *SharedLog) appendOnce(ctx context.Context, record []byte, retry bool) (int64, error) {
	var tree tlog.Tree
	var head []byte
	var stored int64
	idx, err := l.storage.AppendLog(ctx, record, func(cur []byte, size, end int64, last []byte, hr tlog.HashReader) ([]tlog.Hash, []byte, error) {
		if err := l.checkTail(cur, size, end, last, hr); err != nil {
			return nil, nil, err
		}
		if retry && size > l.known.N && bytes.Equal(last, record) {
			stored = size - 1
			return nil, nil, errStoredAlready
		}
		hs, err := tlog.StoredHashes(size, record, hr)
		if err != nil {
			return nil, nil, fmt.Errorf("recorder: log: %w", err)
		}
		count := tlog.StoredHashCount(size)
		root, err := treeHashAppended(size+1, count, hs, hr)
		if err != nil {
			return nil, nil, fmt.Errorf("recorder: log: %w", err)
		}
		if head, err = signHead(l.signer, size+1, root); err != nil {
			return nil, nil, err
		}
		tree = tlog.Tree{N: size + 1, Hash: root}
		return hs, head, nil
	})
	if errors.Is(err, errStoredAlready) {
		return stored, nil
	}
	if err != nil {
		return 0, err
	}
	l.known, l.head = tree, head
	if l.witness != nil {
		if err := l.witness.Witness(head); err != nil {
			return idx, fmt.Errorf("%w: %v", ErrWitness, err)
		}
	}
	return idx, nil
}

// checkTail checks the log's end, as the storage holds it under the
// append lock, against the newest signed head and against the newest tree
// this process knows.
func (l *SharedLog) checkTail(head []byte, size, end int64, last []byte, hr tlog.HashReader) (err error) {
	// A hash the storage failed to read says nothing of the log: that
	// error is returned (and the append tried again), not a mismatch.
	var readErr error
	stored := hr
	hr = tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		hs, err := stored.ReadHashes(indexes)
		if err != nil && readErr == nil {
			readErr = err
		}
		return hs, err
	})
	defer func() {
		if err != nil && readErr != nil {
			err = fmt.Errorf("recorder: log: reading the stored hashes: %w", readErr)
		}
	}()
	tree, err := openHead(head, l.verifier)
	if err != nil {
		return fmt.Errorf("recorder: log: the newest stored %w", err)
	}
	switch {
	case tree.N != size:
		return fmt.Errorf("%w: the newest head is stored as covering %d records but is signed for %d", ErrLogMismatch, size, tree.N)
	case end > size:
		return fmt.Errorf("%w: %d records after the signed head of %d", ErrLogMismatch, end-size, size)
	case end < size || (size > 0 && last == nil):
		return fmt.Errorf("%w: record %d, the last the signed head covers, is missing", ErrLogMismatch, size-1)
	}
	if size > 0 {
		leaf, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, size-1)})
		if err != nil || leaf[0] != tlog.RecordHash(last) {
			return fmt.Errorf("%w: record %d is not the one the signed head covers", ErrLogMismatch, size-1)
		}
	}
	if root, err := tlog.TreeHash(size, hr); err != nil || root != tree.Hash {
		return fmt.Errorf("%w: the stored hashes do not hash to the signed head of %d", ErrLogMismatch, size)
	}
	if err := extends(l.known, tree, hr); err != nil {
		return fmt.Errorf("against the newest head this node saw: %w", err)
	}
	return nil
}

// Root returns the size and tree hash of the newest tree this process
// signed or verified (another node may have appended since).
func (l *SharedLog) Root() (size int64, hash tlog.Hash) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.known.N, l.known.Hash
}

// SignedHead returns the signed head of the tree Root describes.
func (l *SharedLog) SignedHead() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.head)
}

// SetWitness makes the log hand every head it signs to w from now on,
// starting with the newest it knows (as [Log.SetWitness]).
func (l *SharedLog) SetWitness(w Witness) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.witness = w
	if err := w.Witness(l.head); err != nil {
		return fmt.Errorf("%w: %v", ErrWitness, err)
	}
	return nil
}

// Close releases nothing (the storage belongs to its opener); it is there
// so that a SharedLog closes like a [Log].
func (l *SharedLog) Close() error { return nil }
