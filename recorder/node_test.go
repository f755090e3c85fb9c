package recorder

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A recording names the node that made it, in the header the hash chain
// covers; a recording without a node (made before nodes were named) is
// written and verified exactly as before.
func TestHeaderNamesNode(t *testing.T) {
	for _, node := range []string{"bastion-a", ""} {
		path := filepath.Join(t.TempDir(), "s.cast")
		h := testHeader("s1")
		h.Session.Node = node
		w, err := Create(path, h, Options{Clock: newFakeClock().Now, Signer: testKey})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Output([]byte("hello\r\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Close(ExitInfo{}); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		header, _, _ := bytes.Cut(data, []byte("\n"))
		if bytes.Contains(header, []byte(`"node"`)) != (node != "") {
			t.Errorf("node %q: header %s", node, header)
		}
		res, err := Verify(path, testPub)
		if err != nil || res.Header == nil || res.Header.Session.Node != node {
			t.Fatalf("node %q: verify %+v, %v", node, res.Header, err)
		}
		if node == "" {
			continue
		}
		// Claiming another node breaks the chain.
		rewrite(t, path, func(b []byte) []byte { return bytes.Replace(b, []byte("bastion-a"), []byte("bastion-b"), 1) })
		if _, err := Verify(path, testPub); !errors.Is(err, ErrChainMismatch) {
			t.Errorf("renamed node: %v, want %v", err, ErrChainMismatch)
		}
	}
}
