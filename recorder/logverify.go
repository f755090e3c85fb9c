package recorder

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// VerifyHead checks the signature on a tree head by pub and returns the tree.
func VerifyHead(head []byte, pub ed25519.PublicKey) (tlog.Tree, error) {
	v, err := logVerifier(pub)
	if err != nil {
		return tlog.Tree{}, err
	}
	return openHead(head, v)
}

func openHead(head []byte, v note.Verifier) (tlog.Tree, error) {
	n, err := note.Open(head, note.VerifierList(v))
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("%w: tree head: %v", ErrBadSignature, err)
	}
	rest, ok := strings.CutPrefix(n.Text, headPrefix)
	lines := strings.Split(rest, "\n")
	if !ok || len(lines) != 3 || lines[2] != "" {
		return tlog.Tree{}, fmt.Errorf("%w: tree head text", ErrMalformed)
	}
	size, err1 := strconv.ParseInt(lines[0], 10, 64)
	hash, err2 := tlog.ParseHash(lines[1])
	if err1 != nil || err2 != nil || size < 0 || lines[0] != strconv.FormatInt(size, 10) {
		return tlog.Tree{}, fmt.Errorf("%w: tree head text", ErrMalformed)
	}
	return tlog.Tree{N: size, Hash: hash}, nil
}

// VerifyLog checks that the records in dir hash to the tree head in dir and
// that pub signed that head. It returns the verified tree. A record removed,
// altered, inserted or added after the signed head gives ErrLogMismatch; a
// bad head signature gives ErrBadSignature. A record that an interrupted
// Append stored is accepted when the signed head.next covers it. The stored
// hashes are not read: they are recomputed from the records.
func VerifyLog(dir string, pub ed25519.PublicKey) (tlog.Tree, error) {
	v, err := logVerifier(pub)
	if err != nil {
		return tlog.Tree{}, err
	}
	st, err := readLog(dir, v)
	if err != nil {
		return tlog.Tree{}, err
	}
	if st.head == nil {
		return tlog.Tree{}, fmt.Errorf("%w: %s has no tree head", ErrLogMismatch, dir)
	}
	return st.tree, nil
}

// logState is what readLog found in a log directory.
type logState struct {
	head     []byte      // the signed head, nil if there is none
	next     []byte      // the signed head.next, nil if there is none
	fromNext bool        // tree is from next, which covers one record more than head
	tree     tlog.Tree   // the verified tree; zero if there is no head
	size     int64       // size of the records file
	partial  int64       // bytes of an incomplete last line
	hashes   []tlog.Hash // stored hashes of the first tree.N records, recomputed
	records  [][]byte    // the complete records read, newline excluded
}

// readLog reads a log directory and checks that its records hash to the
// signed head, or to head.next when exactly one record follows the head.
func readLog(dir string, v note.Verifier) (logState, error) {
	var st logState
	var err error
	var headTree, nextTree tlog.Tree
	if st.head, headTree, err = readHead(filepath.Join(dir, logHeadFile), v); err != nil {
		return st, err
	}
	if st.next, nextTree, err = readHead(filepath.Join(dir, logNextFile), v); err != nil {
		return st, err
	}
	data, err := os.ReadFile(filepath.Join(dir, logRecordsFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return st, fmt.Errorf("recorder: log: %w", err)
	}
	st.size = int64(len(data))
	mem := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x < 0 || x >= int64(len(st.hashes)) {
				return nil, fmt.Errorf("stored hash %d out of range [0, %d)", x, len(st.hashes))
			}
			out[i] = st.hashes[x]
		}
		return out, nil
	})
	var records int64
	for len(data) > 0 {
		rec, rest, ok := bytes.Cut(data, []byte{'\n'})
		if !ok {
			st.partial = int64(len(data))
			break
		}
		data = rest
		hs, err := tlog.StoredHashes(records, rec, mem)
		if err != nil {
			return st, fmt.Errorf("recorder: log: %w", err)
		}
		st.hashes = append(st.hashes, hs...)
		st.records = append(st.records, rec)
		records++
	}
	switch {
	case st.head == nil && (records > 0 || st.partial > 0 || st.next != nil):
		return st, fmt.Errorf("%w: %d records but no signed tree head", ErrLogMismatch, records)
	case st.head == nil:
		return st, nil // a new log
	case records == headTree.N:
		st.tree = headTree
	case records == headTree.N+1 && st.next != nil && nextTree.N == records:
		st.tree, st.fromNext = nextTree, true
	case records > headTree.N:
		return st, fmt.Errorf("%w: %d records after the signed head of %d", ErrLogMismatch, records-headTree.N, headTree.N)
	default:
		return st, fmt.Errorf("%w: %d records, the signed head has %d", ErrLogMismatch, records, headTree.N)
	}
	if h, err := tlog.TreeHash(st.tree.N, mem); err != nil || h != st.tree.Hash {
		return st, fmt.Errorf("%w: records do not hash to the signed head of %d", ErrLogMismatch, st.tree.N)
	}
	if st.fromNext {
		// The head the interrupted Append started from must still hold.
		if h, err := tlog.TreeHash(headTree.N, mem); err != nil || h != headTree.Hash {
			return st, fmt.Errorf("%w: records do not hash to the signed head of %d", ErrLogMismatch, headTree.N)
		}
	}
	return st, nil
}

// readHead reads and verifies the tree head at path; nil if there is none.
func readHead(path string, v note.Verifier) ([]byte, tlog.Tree, error) {
	head, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, tlog.Tree{}, nil
	}
	if err != nil {
		return nil, tlog.Tree{}, fmt.Errorf("recorder: log: %w", err)
	}
	tree, err := openHead(head, v)
	if err != nil {
		return nil, tlog.Tree{}, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return head, tree, nil
}

func logVerifier(pub ed25519.PublicKey) (note.Verifier, error) {
	vkey, err := note.NewEd25519VerifierKey(LogKeyName, pub)
	if err != nil {
		return nil, fmt.Errorf("recorder: log: %w", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("recorder: log: %w", err)
	}
	return v, nil
}
