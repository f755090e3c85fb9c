package recorder

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// A LogSnapshot is a verified, read-only view of a session log at one
// moment: its signed head, its records and proofs against that head. It
// can be taken while a server holds the log open (it writes nothing).
type LogSnapshot struct {
	Head    []byte // the signed tree head the records verify against
	Tree    tlog.Tree
	Entries []LogEntry
	hashes  []tlog.Hash
}

// SnapshotLog verifies the log in dir against its signed head by pub and
// returns a snapshot of it.
func SnapshotLog(dir string, pub ed25519.PublicKey) (*LogSnapshot, error) {
	v, err := logVerifier(pub)
	if err != nil {
		return nil, err
	}
	st, err := readLog(dir, v)
	if err != nil {
		return nil, err
	}
	if st.head == nil {
		return nil, fmt.Errorf("%w: %s has no tree head", ErrLogMismatch, dir)
	}
	head := st.head
	if st.fromNext {
		head = st.next
	}
	entries := make([]LogEntry, st.tree.N)
	for i := range entries {
		rec := st.records[i]
		if err := json.Unmarshal(rec, &entries[i]); err != nil {
			return nil, fmt.Errorf("%w: log record %d: %v", ErrMalformed, i, err)
		}
		entries[i].Index, entries[i].Raw = int64(i), rec
	}
	return &LogSnapshot{Head: head, Tree: st.tree, Entries: entries, hashes: st.hashes[:tlog.StoredHashCount(st.tree.N)]}, nil
}

// RecordProof is an inclusion proof of one log record, self-contained: a
// holder of the signed head checks it with [RecordProof.Check].
type RecordProof struct {
	Index  int64       `json:"index"`
	Size   int64       `json:"size"`
	Record string      `json:"record"` // the record as stored
	Proof  []tlog.Hash `json:"proof"`
}

// Prove returns the inclusion proof of record index.
func (s *LogSnapshot) Prove(index int64) (RecordProof, error) {
	if index < 0 || index >= s.Tree.N {
		return RecordProof{}, fmt.Errorf("recorder: log: no record %d in a log of %d", index, s.Tree.N)
	}
	p, err := tlog.ProveRecord(s.Tree.N, index, tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x < 0 || x >= int64(len(s.hashes)) {
				return nil, fmt.Errorf("stored hash %d out of range", x)
			}
			out[i] = s.hashes[x]
		}
		return out, nil
	}))
	if err != nil {
		return RecordProof{}, fmt.Errorf("recorder: log: %w", err)
	}
	return RecordProof{Index: index, Size: s.Tree.N, Record: string(s.Entries[index].Raw), Proof: p}, nil
}

// Check verifies the proof against a tree head signed by pub and returns
// the record, parsed.
func (p RecordProof) Check(head []byte, pub ed25519.PublicKey) (LogEntry, error) {
	tree, err := VerifyHead(head, pub)
	if err != nil {
		return LogEntry{}, err
	}
	if p.Size != tree.N {
		return LogEntry{}, fmt.Errorf("%w: proof for a log of %d records, the head has %d", ErrLogMismatch, p.Size, tree.N)
	}
	if err := tlog.CheckRecord(p.Proof, p.Size, tree.Hash, p.Index, tlog.RecordHash([]byte(p.Record))); err != nil {
		return LogEntry{}, fmt.Errorf("%w: record %d is not in the signed log: %v", ErrLogMismatch, p.Index, err)
	}
	var e LogEntry
	if err := json.Unmarshal([]byte(p.Record), &e); err != nil {
		return LogEntry{}, fmt.Errorf("%w: log record %d: %v", ErrMalformed, p.Index, err)
	}
	e.Index, e.Raw = p.Index, []byte(p.Record)
	return e, nil
}
