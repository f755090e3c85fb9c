package recorder

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// SnapshotShared verifies the whole shared log that r reads against its
// newest signed head by pub and returns a snapshot of it. Everything
// stored is checked: every head's signature, that each head extends the
// one before it and the newest covers exactly the records stored, that
// the records hash to it, and that the stored hashes (which appends and
// proofs read) are the ones the records give. A record altered, removed,
// inserted or moved, a head replaced or dropped, a stored hash edited:
// each gives ErrLogMismatch or ErrBadSignature, naming what it found.
func SnapshotShared(ctx context.Context, r LogReader, pub ed25519.PublicKey) (*LogSnapshot, error) {
	v, err := logVerifier(pub)
	if err != nil {
		return nil, err
	}
	return snapshotShared(ctx, r, v)
}

func snapshotShared(ctx context.Context, r LogReader, v note.Verifier) (*LogSnapshot, error) {
	heads, records, stored, err := r.ReadLog(ctx)
	if err != nil {
		return nil, err
	}
	if len(heads) == 0 {
		return nil, fmt.Errorf("%w: the log has no signed tree head", ErrLogMismatch)
	}
	trees := make([]tlog.Tree, len(heads))
	for i, h := range heads {
		if trees[i], err = openHead(h, v); err != nil {
			return nil, fmt.Errorf("recorder: log: stored head %d of %d: %w", i+1, len(heads), err)
		}
		if i > 0 && trees[i].N <= trees[i-1].N {
			return nil, fmt.Errorf("%w: the stored head of %d records follows one of %d", ErrLogMismatch, trees[i].N, trees[i-1].N)
		}
	}
	tree := trees[len(trees)-1]
	if int64(len(records)) > tree.N {
		return nil, fmt.Errorf("%w: %d records after the signed head of %d", ErrLogMismatch, int64(len(records))-tree.N, tree.N)
	}
	if int64(len(records)) < tree.N {
		return nil, fmt.Errorf("%w: records %d to %d, which the signed head covers, are missing", ErrLogMismatch, len(records), tree.N-1)
	}
	var hashes []tlog.Hash
	mem := memHashes(&hashes)
	for i, rec := range records {
		if rec == nil {
			return nil, fmt.Errorf("%w: record %d, which the signed head covers, is missing", ErrLogMismatch, i)
		}
		hs, err := tlog.StoredHashes(int64(i), rec, mem)
		if err != nil {
			return nil, fmt.Errorf("recorder: log: %w", err)
		}
		hashes = append(hashes, hs...)
	}
	if h, err := tlog.TreeHash(tree.N, mem); err != nil || h != tree.Hash {
		return nil, fmt.Errorf("%w: the records do not hash to the signed head of %d: a record was altered, replaced or moved", ErrLogMismatch, tree.N)
	}
	for i, h := range stored {
		if i >= len(hashes) || h != hashes[i] {
			return nil, fmt.Errorf("%w: stored hash %d is not the one the records give: the hashes were edited", ErrLogMismatch, i)
		}
	}
	if len(stored) < len(hashes) {
		return nil, fmt.Errorf("%w: stored hashes %d to %d are missing", ErrLogMismatch, len(stored), len(hashes)-1)
	}
	for i, old := range trees[:len(trees)-1] {
		if err := extends(old, tree, mem); err != nil {
			return nil, fmt.Errorf("stored head %d of %d: %w", i+1, len(heads), err)
		}
	}
	entries := make([]LogEntry, tree.N)
	for i := range entries {
		if err := json.Unmarshal(records[i], &entries[i]); err != nil {
			return nil, fmt.Errorf("%w: log record %d: %v", ErrMalformed, i, err)
		}
		entries[i].Index, entries[i].Raw = int64(i), records[i]
	}
	return &LogSnapshot{Head: heads[len(heads)-1], Tree: tree, Entries: entries, hashes: hashes}, nil
}

// memHashes reads stored hashes from *hs.
func memHashes(hs *[]tlog.Hash) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x < 0 || x >= int64(len(*hs)) {
				return nil, fmt.Errorf("stored hash %d out of range [0, %d)", x, len(*hs))
			}
			out[i] = (*hs)[x]
		}
		return out, nil
	})
}

// extends checks with a consistency proof that the tree old is a prefix
// of cur, whose stored hashes r reads.
func extends(old, cur tlog.Tree, r tlog.HashReader) error {
	if old.N > cur.N {
		return fmt.Errorf("%w: the log has %d records, but a signed tree head of %d records was saved: records were removed or the log was restored from an older copy",
			ErrRollback, cur.N, old.N)
	}
	if old.N == 0 {
		return nil
	}
	proof, err := tlog.ProveTree(cur.N, old.N, r)
	if err == nil {
		err = tlog.CheckTree(proof, cur.N, cur.Hash, old.N, old.Hash)
	}
	if err != nil {
		return fmt.Errorf("%w: the log of %d records does not extend the saved tree head of %d records: %v",
			ErrLogMismatch, cur.N, old.N, err)
	}
	return nil
}

// CheckExtends checks that the snapshot's tree extends the tree of
// oldHead, a signed head saved earlier (as [CheckExtends] does for a log
// directory), and returns the old tree.
func (s *LogSnapshot) CheckExtends(oldHead []byte, pub ed25519.PublicKey) (tlog.Tree, error) {
	old, err := VerifyHead(oldHead, pub)
	if err != nil {
		return old, fmt.Errorf("saved tree head: %w", err)
	}
	return old, extends(old, s.Tree, memHashes(&s.hashes))
}
