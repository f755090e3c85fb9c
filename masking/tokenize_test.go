package masking

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestPlainCSI checks the tokenizer's shortcut for plain CSI sequences
// against the parsers (csiScan, and ansi's, which agree there): on every
// input it accepts, they end the sequence at the same byte and see it as
// the same kind of break. The
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
		var c csiScan
		if cn, done := c.scan(in[2:]); cn+2 != n || !done || c.brk(in[n-1]) != csiBreak[in[n-1]] {
			t.Fatalf("%q: plainCSI %d bytes, csiScan %d (break %v)", in, n, cn+2, c.brk(in[n-1]))
		}
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

// TestCSIScan checks where the tokenizer ends CSI sequences and which
// separate the text around them: as ansi.DecodeSequence for the sequences
// programs send, and to the final byte, as terminals do, where a private
// marker after a parameter or a parameter byte after an intermediate puts
// the terminal in its ignore state, which dispatches nothing.
func TestCSIScan(t *testing.T) {
	for _, in := range []string{
		"\x1b[?25l", "\x1b[?1049h", "\x1b[>c", "\x1b[>4;2m", "\x1b[=5u", "\x1b[<u",
		"\x1b[38:2::255:0:0m", "\x1b[1 q", "\x1b[?2026$p", "\x1b[!p", "\x1b[4D",
		"\x1b[H", "\x1b[m", "\x1b[2J", "\x1b[>0;1;2c", "\x1b[?u",
	} {
		var c csiScan
		n, done := c.scan([]byte(in[2:]))
		seq, _, pn, _ := ansi.DecodeSequence([]byte(in+"x"), ansi.NormalState, nil)
		want := isBreak(seq[1], seq[pn-1], int64(pn), func() bool { return seqFlags(seq[1:]) })
		if n+2 != pn || !done || c.brk(in[len(in)-1]) != want {
			t.Errorf("%q: %d bytes (done %v, break %v), parser %d (break %v)", in, n+2, done, c.brk(in[len(in)-1]), pn, want)
		}
	}
	for _, tc := range []struct {
		in  string
		n   int
		brk bool
	}{
		{"\x1b[1?m6789", 5, false},
		{"\x1b[1;?m6789", 6, false},
		{"\x1b[1>m", 5, false},
		{"\x1b[1<2m", 6, false},
		{"\x1b[?1?m", 6, false},
		{"\x1b[1=m", 5, false},
		{"\x1b[1 ?m", 6, false},
		{"\x1b[1\"?m", 6, false},
		{"\x1b[1?2;3?m", 9, false},
		{"\x1b[12 ;m", 7, false},
		{"\x1b[??H", 5, false},
		{"\x1b[1?2H", 6, false},
		{"\x1b[1 2C", 6, false},
		{"\x1b[1\x00\x7f\am", 7, false},
		{"\x1b[1?\bm", 6, true},
		{"\x1b[\r1H", 5, true},
		{"\x1b[1?\x1b[m", 4, false},
		{"\x1b[1?\x18m", 4, false},
		{"\x1b[1?\x1am", 4, false},
		{"\x1b[1?\xc3\xa9m", 4, false},
	} {
		var c csiScan
		n, done := c.scan([]byte(tc.in[2:]))
		if n+2 != tc.n || !done || c.brk(tc.in[n+1]) != tc.brk {
			t.Errorf("%q: %d bytes (done %v, break %v), want %d (break %v)", tc.in, n+2, done, c.brk(tc.in[n+1]), tc.n, tc.brk)
		}
		// Byte by byte, as chunks continue it.
		c = csiScan{}
		k := 2
		for ; k < len(tc.in); k++ {
			if m, done := c.scan([]byte{tc.in[k]}); done {
				k += m
				break
			}
		}
		if k != tc.n || c.brk(tc.in[k-1]) != tc.brk {
			t.Errorf("%q byte by byte: %d bytes (break %v), want %d (break %v)", tc.in, k, c.brk(tc.in[k-1]), tc.n, tc.brk)
		}
	}
}
