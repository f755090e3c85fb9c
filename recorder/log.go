package recorder

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Files of a session log directory.
const (
	logRecordsFile = "records"   // one record per line, append-only
	logHashesFile  = "hashes"    // tlog stored hashes, 32 bytes each, in index order
	logHeadFile    = "head"      // the signed tree head, a note
	logNextFile    = "head.next" // the signed head an unfinished Append is writing towards
)

// LogKeyName is the key name in the signature lines of a log's tree head.
const LogKeyName = "bastion-session-log"

// headPrefix is the first line of a tree head.
const headPrefix = "bastion session log v1\n"

// maxLogRecord bounds the size of one log record.
const maxLogRecord = 64 << 10

// A Log is an append-only Merkle log of session records ([LogRecord]) kept in
// a directory, with a tree head signed at every append. Its methods are safe
// for concurrent use; one process at a time may hold a directory open.
//
// Append signs the next tree head before it writes the record, as head.next,
// and renames it over head when the record and its hashes are stored. So a
// record after the signed head is accepted only when head.next covers it: a
// crash can be recovered from, but a record added by someone without the key
// cannot be signed into the log by reopening it.
type Log struct {
	dir    string
	signer note.Signer

	mu      sync.Mutex
	records *os.File  // guarded by mu
	hashes  *os.File  // guarded by mu
	n       int64     // records in the log; guarded by mu
	root    tlog.Hash // tree hash of the n records; guarded by mu
	head    []byte    // signed tree head of n records; guarded by mu
	err     error     // failure of an append: the log must be reopened; guarded by mu
	witness Witness   // receives every signed head, or nil; guarded by mu
}

// InclusionProof proves that a record is the Index-th of a log of Size
// records with tree hash Root. Check Root against a verified tree head
// ([VerifyHead]) before trusting the proof.
type InclusionProof struct {
	Index int64
	Size  int64
	Root  tlog.Hash
	Proof tlog.RecordProof
}

// Verify checks that record is the one the proof is for.
func (p InclusionProof) Verify(record []byte) error {
	if err := tlog.CheckRecord(p.Proof, p.Size, p.Root, p.Index, tlog.RecordHash(record)); err != nil {
		return fmt.Errorf("%w: record %d: %v", ErrLogMismatch, p.Index, err)
	}
	return nil
}

// OpenLog opens the session log in dir, creating it if needed. The signer
// (Ed25519, required) signs tree heads. OpenLog verifies the records against
// the signed tree head and refuses a log that does not match (ErrLogMismatch,
// ErrBadSignature), so that a tampered log is never signed again. It finishes
// or rolls back an Append that a crash interrupted.
func OpenLog(dir string, signer crypto.Signer) (*Log, error) {
	ls, v, err := newLogSigner(signer)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("recorder: log: %w", err)
	}
	st, err := readLog(dir, v)
	if err != nil {
		return nil, err
	}
	l := &Log{dir: dir, signer: ls, n: st.tree.N, root: st.tree.Hash}
	if err := l.recover(st); err != nil {
		return nil, err
	}
	return l, nil
}

// recover brings the files of dir in line with st, the verified state, and
// opens them.
func (l *Log) recover(st logState) (err error) {
	if l.records, err = os.OpenFile(filepath.Join(l.dir, logRecordsFile), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
		return fmt.Errorf("recorder: log: %w", err)
	}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	if st.partial > 0 { // an Append that never finished its record
		if err := l.records.Truncate(st.size - st.partial); err != nil {
			return fmt.Errorf("recorder: log: %w", err)
		}
	}
	if err := l.openHashes(st.hashes); err != nil {
		return err
	}
	switch {
	case st.head == nil: // a new log: sign the empty tree
		if l.root, err = tlog.TreeHash(0, nil); err != nil {
			return fmt.Errorf("recorder: log: %w", err)
		}
		return l.writeHead()
	case st.fromNext: // an Append that stored its record but not its head
		l.head = st.next
		return installFile(filepath.Join(l.dir, logNextFile), filepath.Join(l.dir, logHeadFile))
	case st.next != nil: // an Append that never stored its record
		l.head = st.head
		if err := os.Remove(filepath.Join(l.dir, logNextFile)); err != nil {
			return fmt.Errorf("recorder: log: %w", err)
		}
		return syncDir(l.dir)
	}
	l.head = st.head
	return nil
}

// openHashes makes the hashes file hold exactly hs and opens it.
func (l *Log) openHashes(hs []tlog.Hash) error {
	want := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		want = append(want, h[:]...)
	}
	path := filepath.Join(l.dir, logHashesFile)
	if have, err := os.ReadFile(path); err != nil || !bytes.Equal(have, want) {
		if err := replaceFile(path, want); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("recorder: log: %w", err)
	}
	l.hashes = f
	return nil
}

// Append adds record, which must be non-empty and hold no newline, and signs
// the new tree head. It returns the record's index.
func (l *Log) Append(record []byte) (int64, error) {
	if len(record) == 0 || len(record) > maxLogRecord || bytes.IndexByte(record, '\n') >= 0 {
		return 0, errors.New("recorder: log: a record must be one non-empty line of at most 64 KiB")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return 0, l.err
	}
	stored := tlog.StoredHashCount(l.n)
	hs, err := tlog.StoredHashes(l.n, record, l.reader())
	if err != nil {
		return 0, fmt.Errorf("recorder: log: %w", err)
	}
	// The tree with the record, from the stored hashes plus the new ones.
	prev := l.reader()
	root, err := treeHashAppended(l.n+1, stored, hs, prev)
	if err != nil {
		return 0, fmt.Errorf("recorder: log: %w", err)
	}
	head, err := signHead(l.signer, l.n+1, root)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		buf = append(buf, h[:]...)
	}
	next := filepath.Join(l.dir, logNextFile)
	if err := replaceFile(next, head); err != nil {
		return 0, l.fail(err)
	}
	if err := writeSync(l.records, append(record[:len(record):len(record)], '\n'), -1); err != nil {
		return 0, l.fail(err)
	}
	if err := writeSync(l.hashes, buf, stored*tlog.HashSize); err != nil {
		return 0, l.fail(err)
	}
	if err := installFile(next, filepath.Join(l.dir, logHeadFile)); err != nil {
		return 0, l.fail(err)
	}
	l.n, l.root, l.head = l.n+1, root, head
	if l.witness != nil {
		if err := l.witness.Witness(head); err != nil {
			return l.n - 1, fmt.Errorf("%w: %v", ErrWitness, err)
		}
	}
	return l.n - 1, nil
}

// fail records a failed append: the files may be half-updated, and only
// OpenLog can tell how far it got.
func (l *Log) fail(err error) error {
	l.err = fmt.Errorf("recorder: log append: %w", err)
	return l.err
}

// writeSync writes p to f, at off unless off is negative, and syncs f.
func writeSync(f *os.File, p []byte, off int64) error {
	var err error
	if off < 0 {
		_, err = f.Write(p)
	} else {
		_, err = f.WriteAt(p, off)
	}
	if err != nil {
		return err
	}
	return f.Sync()
}

// Root returns the number of records and the tree hash.
func (l *Log) Root() (size int64, hash tlog.Hash) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n, l.root
}

// SignedHead returns the signed tree head, a note ([golang.org/x/mod/sumdb/note])
// whose text is "bastion session log v1\nSIZE\nHASH\n".
func (l *Log) SignedHead() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.head)
}

// ProveInclusion returns a proof that record index is in the current tree.
func (l *Log) ProveInclusion(index int64) (InclusionProof, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if index < 0 || index >= l.n {
		return InclusionProof{}, fmt.Errorf("recorder: log: no record %d in a log of %d", index, l.n)
	}
	p, err := tlog.ProveRecord(l.n, index, l.reader())
	if err != nil {
		return InclusionProof{}, fmt.Errorf("recorder: log: %w", err)
	}
	return InclusionProof{Index: index, Size: l.n, Root: l.root, Proof: p}, nil
}

// ProveConsistency returns a proof that the tree of the first oldSize records
// is a prefix of the current tree, for tlog.CheckTree: a holder of an older
// tree head can check that no record was removed since.
func (l *Log) ProveConsistency(oldSize int64) (tlog.TreeProof, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if oldSize < 1 || oldSize > l.n {
		return nil, fmt.Errorf("recorder: log: no tree of size %d in a log of %d", oldSize, l.n)
	}
	p, err := tlog.ProveTree(l.n, oldSize, l.reader())
	if err != nil {
		return nil, fmt.Errorf("recorder: log: %w", err)
	}
	return p, nil
}

// Close closes the log's files.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = errors.New("recorder: log closed")
	}
	err1 := l.records.Close()
	var err2 error
	if l.hashes != nil {
		err2 = l.hashes.Close()
	}
	return errors.Join(err1, err2)
}

// reader reads stored hashes from the hashes file.
func (l *Log) reader() tlog.HashReader {
	count := tlog.StoredHashCount(l.n)
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x < 0 || x >= count {
				return nil, fmt.Errorf("stored hash %d out of range [0, %d)", x, count)
			}
			if _, err := l.hashes.ReadAt(out[i][:], x*tlog.HashSize); err != nil {
				return nil, err
			}
		}
		return out, nil
	})
}

// writeHead signs the current tree and stores it as the head.
func (l *Log) writeHead() error {
	head, err := signHead(l.signer, l.n, l.root)
	if err != nil {
		return err
	}
	if err := replaceFile(filepath.Join(l.dir, logHeadFile), head); err != nil {
		return err
	}
	l.head = head
	return nil
}

// signHead returns the signed tree head of a tree of n records.
func signHead(s note.Signer, n int64, root tlog.Hash) ([]byte, error) {
	text := headPrefix + strconv.FormatInt(n, 10) + "\n" + root.String() + "\n"
	head, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		return nil, fmt.Errorf("recorder: log: sign head: %w", err)
	}
	return head, nil
}

// logSigner signs tree heads with a crypto.Signer holding an Ed25519 key.
type logSigner struct {
	s    crypto.Signer
	hash uint32
}

// newLogSigner signs tree heads with signer (Ed25519, required); the
// verifier checks them.
func newLogSigner(signer crypto.Signer) (logSigner, note.Verifier, error) {
	if signer == nil {
		return logSigner{}, nil, errors.New("recorder: log: a signer is required")
	}
	pub, err := signerKey(signer)
	if err != nil {
		return logSigner{}, nil, err
	}
	v, err := logVerifier(pub)
	if err != nil {
		return logSigner{}, nil, err
	}
	return logSigner{s: signer, hash: v.KeyHash()}, v, nil
}

func (s logSigner) Name() string    { return LogKeyName }
func (s logSigner) KeyHash() uint32 { return s.hash }
func (s logSigner) Sign(msg []byte) ([]byte, error) {
	return s.s.Sign(nil, msg, crypto.Hash(0))
}

// treeHashAppended is the tree hash of a log of n records whose stored
// hashes from index stored on are added (not yet written), the ones before
// it read from r.
func treeHashAppended(n, stored int64, added []tlog.Hash, r tlog.HashReader) (tlog.Hash, error) {
	return tlog.TreeHash(n, tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x >= stored {
				out[i] = added[x-stored]
				continue
			}
			h, err := r.ReadHashes([]int64{x})
			if err != nil {
				return nil, err
			}
			out[i] = h[0]
		}
		return out, nil
	}))
}
