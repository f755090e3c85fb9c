package masking

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// screenRoundTricks complete a value on a row the Screen's shortcuts may
// have held back, dropped undrawn or recycled: each is the output after
// bulk lines (of the width and ending the case gives) that puts the value's
// first part on screen, then lines, then the trick, then more lines.
var screenRoundTricks = []struct {
	name       string
	cols, rows int
	width      int    // of each bulk line
	end        string // what ends a bulk line
	first      string // the value's first part, on its own line
	above      int    // bulk lines between the first part and the trick
	trick      string
	found      bool // whether the output holds a value (drawn)
}{
	// stty -onlcr on a pty: bare LF moves down without returning.
	{"bare LF", 80, 24, 10, "\n", "\rid 123-45-", 3, "\x1b[4A\r\x1b[10C6789\x1b[4B\r", true},
	// Lines exactly the screen's width: every line ends in a pending wrap.
	{"pending wrap", 80, 24, 80, "\r\n", "id 123-45-", 2, "\x1b[3A\x1b[11G6789\x1b[3B\r", true},
	{"pending wrap no CR", 80, 24, 80, "\n", "\rid 123-45-", 2, "\x1b[3A\x1b[11G6789\x1b[3B\r", true},
	// Wrapped lines: the value's rows are two screen rows each.
	{"wrapped", 80, 24, 100, "\r\n", "id 123-45-", 1, "\x1b[3A\x1b[11G6789\x1b[3B\r", true},
	// Backspace and carriage return over a decoy on the same line.
	{"backspace", 80, 24, 10, "\r\n", "id 123-45-0000", 2, "\x1b[3A\x1b[15G\b\b\b\b6789\x1b[3B\r", true},
	{"erase then rewrite", 80, 24, 10, "\r\n", "id 123-45-xxxx", 2, "\x1b[3A\x1b[11G\x1b[K6789\x1b[3B\r", true},
	{"erase chars", 80, 24, 10, "\r\n", "id 123-45-xxxx", 2, "\x1b[3A\x1b[11G\x1b[4X6789\x1b[3B\r", true},
	// Scroll region: lines scroll inside it, the value row outside it.
	{"scroll region", 80, 24, 10, "\r\n", "\x1b[1;1Hid 123-45-\x1b[2;24r\x1b[24;1H", 40, "\x1b[r\x1b[1;11H6789\x1b[24;1H", true},
	// Reverse index brings a row back at the top.
	{"reverse index", 80, 24, 10, "\r\n", "id 123-45-", 2, "\x1bM\x1bM\x1bM\x1b[11G6789\x1b[3B\r", true},
	// Alternate screen: bulk output on it, the value on the main screen.
	{"alternate screen", 80, 24, 10, "\r\n", "id 123-45-\r\n\x1b[?1049h", 30, "\x1b[?1049l\x1b[1A\x1b[11G6789\r\n", true},
	// Reads that end inside sequences: UTF-8 and escapes on the lines.
	{"utf-8 lines", 80, 24, 10, "é\r\n", "id 123-45-", 2, "\x1b[3A\x1b[11G6789\x1b[3B\r", true},
	{"colour lines", 80, 24, 10, "\x1b[0m\r\n", "\x1b[1mid 123-45-", 2, "\x1b[3A\x1b[11G6789\x1b[3B\r", true},
	// The large model without a pty.
	{"large, LF", 0, 0, 10, "\n", "id 123-45-", 30, "\x1b[31A\x1b[11G6789\x1b[31B\r", true},
}

// Each trick, after bulk lines in reads from 7 bytes to 256 KiB, with a
// read ending at every position from a little before the trick to its end
// and inside the first part: the Screen masks the same bytes and reports
// the same findings after each read as one that draws every byte, and the
// value is found.
func TestScreenRoundTricksAfterBulk(t *testing.T) {
	m := newTestMasker(t, Config{})
	for _, tc := range screenRoundTricks {
		for _, size := range []int{7, 333, 4096, 64 << 10, 256 << 10} {
			bulk := strings.ReplaceAll(linesOf(size+500, tc.width, tc.end), "x", "y")
			firstAt := len(bulk)
			pre := bulk + tc.first + tc.end + strings.ReplaceAll(linesOf(tc.above*(tc.width+len(tc.end)), tc.width, tc.end), "x", "y")[:tc.above*(tc.width+len(tc.end))]
			at := len(pre)
			out := []byte(pre + tc.trick + linesOf(500, tc.width, tc.end))
			cuts := []int{}
			for c := at - 8; c <= at+len(tc.trick); c++ {
				cuts = append(cuts, c)
			}
			for c := firstAt - 2; c <= firstAt+len(tc.first)+2; c++ {
				cuts = append(cuts, c)
			}
			for _, cut := range cuts {
				var ends []int
				for e := cut % size; e < cut; e += size {
					if e > 0 {
						ends = append(ends, e)
					}
				}
				ends = append(ends, cut)
				for e := cut + size; e < len(out); e += size {
					ends = append(ends, e)
				}
				ends = append(ends, len(out))
				what := fmt.Sprintf("%s: reads of %d cut at %d (first part at %d, trick at %d)", tc.name, size, cut, firstAt, at)
				screenSameAsDrawing(t, m, tc.cols, tc.rows, out, ends, tc.found, what)
			}
		}
	}
}

// Two streams on one terminal: stderr writes the value's last part after
// stdout's bulk lines, in reads that end everywhere around it.
func TestScreenRoundInterleavedStreams(t *testing.T) {
	m := newTestMasker(t, Config{})
	for _, size := range []int{50, 4096, 64 << 10} {
		stdout := []byte(linesOf(size+300, 10, "\r\n") + "id 123-45-")
		stderr := []byte("6789\r\n")
		for cut := len(stdout) - 12; cut <= len(stdout); cut++ {
			fast, slow := m.NewScreen(80, 24), slowScreen(m, 80, 24)
			found := 0
			feed := func(b []byte, off int64) {
				a, c := slices.Clone(b), slices.Clone(b)
				fa, fc := fast.Mask(a, off), slow.Mask(c, off)
				if !bytes.Equal(a, c) || !slices.Equal(fa, fc) {
					t.Fatalf("reads of %d cut at %d: masked %q, %v; drawing every byte %q, %v", size, cut, diffAt(a, c), fa, diffAt(c, a), fc)
				}
				found += len(fa)
			}
			for i := 0; i < cut; i += size {
				feed(stdout[i:min(i+size, cut)], int64(i))
			}
			if cut < len(stdout) {
				feed(stdout[cut:], int64(cut))
			}
			fast.Interleave()
			slow.Interleave()
			feed(stderr, 0)
			if found == 0 {
				t.Fatalf("reads of %d cut at %d: the value is not found", size, cut)
			}
		}
	}
}

// screenSameAsDrawing is screenMatchesDrawing, with the value's being
// found required only when the output holds one.
func screenSameAsDrawing(t *testing.T, m *Masker, cols, rows int, out []byte, ends []int, want bool, what string) {
	t.Helper()
	fast, slow := m.NewScreen(cols, rows), slowScreen(m, cols, rows)
	found, from := 0, 0
	for _, e := range ends {
		if e < from {
			continue
		}
		a, b := slices.Clone(out[from:e]), slices.Clone(out[from:e])
		fa, fb := fast.Mask(a, int64(from)), slow.Mask(b, int64(from))
		if !bytes.Equal(a, b) || !slices.Equal(fa, fb) {
			t.Fatalf("%s, read %d-%d: masked %q, findings %v; drawing every byte: %q, %v", what, from, e, diffAt(a, b), fa, diffAt(b, a), fb)
		}
		found += len(fa)
		from = e
	}
	if want && found == 0 {
		t.Fatalf("%s: the value is not found", what)
	}
}
