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
	return old, cur, extends(old, cur, memHashes(&st.hashes))
}
