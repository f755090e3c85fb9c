package masking

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestPlainCSI checks the tokenizer's shortcut for plain CSI sequences
// against the parser: on every input it accepts, the parser ends the
// sequence at the same byte and sees it as the same kind of break. The
// inputs are all strings of up to four bytes after "ESC [" over bytes that
// matter to a CSI parser (digits, separators, private markers,
// intermediates, C0 controls, ESC, final bytes, DEL, C1 and UTF-8 bytes),
// then long parameter lists.
func TestPlainCSI(t *testing.T) {
	alphabet := []byte("05;:? !/\n\x18\x1a\x1b\x7f\x80\xc3mKH@~`")
	var inputs [][]byte
	var gen func(prefix []byte, left int)
	gen = func(prefix []byte, left int) {
		inputs = append(inputs, append(append([]byte("\x1b["), prefix...), "x"...))
		if left == 0 {
			return
		}
		for _, c := range alphabet {
			gen(append(prefix[:len(prefix):len(prefix)], c), left-1)
		}
	}
	gen(nil, 4)
	for n := 10; n <= 40; n++ {
		inputs = append(inputs, []byte("\x1b["+strings.Repeat("1;", n)+"m"), []byte("\x1b["+strings.Repeat("9", n)+"H"))
	}
	accepted := 0
	for _, in := range inputs {
		n := plainCSI(in)
		if n == 0 {
			continue
		}
		accepted++
		seq, _, pn, st := ansi.DecodeSequence(in, ansi.NormalState, nil)
		if pn != n || st != ansi.NormalState {
			t.Fatalf("%q: plainCSI %d bytes, parser %d (state %d)", in, n, pn, st)
		}
		want := isBreak(seq[1], seq[pn-1], int64(pn), func() bool { return seqFlags(seq[1:]) })
		if got := csiBreak[in[n-1]]; got != want {
			t.Fatalf("%q: plainCSI break %v, parser %v", in, got, want)
		}
	}
	if accepted < 1000 {
		t.Fatalf("only %d inputs took the shortcut", accepted)
	}
}
