package recorder

import (
	"crypto/ed25519"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// CheckExtends checks that the log in dir extends the tree of oldHead, a
// signed tree head saved earlier (by a witness, or by an auditor with
// `bastion log head`): the log verifies against its own head, oldHead is
// signed by pub, and a consistency proof shows the old tree is a prefix of
// the current one. A log with fewer records than oldHead gives ErrRollback;
// one whose first records differ gives ErrLogMismatch. It returns the old
// and the current tree.
func CheckExtends(dir string, pub ed25519.PublicKey, oldHead []byte) (old, cur tlog.Tree, err error) {
	v, err := logVerifier(pub)
	if err != nil {
		return old, cur, err
	}
	if old, err = openHead(oldHead, v); err != nil {
		return old, cur, fmt.Errorf("saved tree head: %w", err)
	}
	st, err := readLog(dir, v)
	if err != nil {
		return old, cur, err
	}
	cur = st.tree
	if old.N > cur.N {
		return old, cur, fmt.Errorf("%w: the log has %d records, but a signed tree head of %d records was saved: records were removed or the log was restored from an older copy",
			ErrRollback, cur.N, old.N)
	}
	if old.N == 0 {
		return old, cur, nil
	}
	mem := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x < 0 || x >= int64(len(st.hashes)) {
				return nil, fmt.Errorf("stored hash %d out of range", x)
			}
			out[i] = st.hashes[x]
		}
		return out, nil
	})
	proof, err := tlog.ProveTree(cur.N, old.N, mem)
	if err == nil {
		err = tlog.CheckTree(proof, cur.N, cur.Hash, old.N, old.Hash)
	}
	if err != nil {
		return old, cur, fmt.Errorf("%w: the log of %d records does not extend the saved tree head of %d records: %v",
			ErrLogMismatch, cur.N, old.N, err)
	}
	return old, cur, nil
}
