package masking

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// mixedOutput is output that alternates runs of plain lines with
// everything that ends such a run or makes a row tricky.
func mixedOutput(rng *rand.Rand, n int) []byte {
	var b strings.Builder
	for b.Len() < n {
		switch rng.IntN(20) {
		case 0:
			b.WriteString("\x1b[" + fmt.Sprint(1+rng.IntN(30)) + "A") // cursor up over kept rows
		case 1:
			b.WriteString("\x1b[" + fmt.Sprint(1+rng.IntN(90)) + "G6789")
		case 2:
			b.WriteString("progress 10%\rprogress 20%\r\n")
		case 3:
			b.WriteString("a\tb\tc\r\n")
		case 4:
			b.WriteString("\x1b[2;20r")
		case 5:
			b.WriteString("\x1b[r")
		case 6:
			b.WriteString("bare line feed\n")
		case 7:
			b.WriteString("héllo 日本 １２３\r\n")
		case 8:
			b.WriteString(strings.Repeat("\x1b[1;31m\x1b[0m", 7) + "many colours\r\n") // 63 escape bytes
		case 9:
			b.WriteString([]string{"\x1b[?7l", "\x1b[?7h"}[rng.IntN(2)]) // autowrap off, on
		case 10:
			b.WriteString("\x1b[K\x1b[2K\x1b[H\x1b[J")
		case 12:
			b.WriteString(strings.Repeat("\x1b[1;31m\x1b[0m", 8) + "too many colours\r\n") // 72: tricky
		case 13:
			b.WriteString("\x1b[999;1H") // the last row, below a scrolling region if one is set
		case 14:
			b.WriteString("\x00\x00\x07\x0e\x0f\x7f 123\x00") // controls that show nothing
		case 11:
			b.WriteString([]string{"\x1b[4h", "\x1b[4l"}[rng.IntN(2)]) // insert mode
		default:
			for range rng.IntN(300) {
				line := strings.Repeat("x", rng.IntN(120))
				if rng.IntN(8) == 0 {
					line = strings.Repeat("y", rng.IntN(2200)) // wraps the large model too
				}
				switch rng.IntN(4) {
				case 0:
					line = "\x1b[01;34m" + line + "\x1b[0m 123-45-6789"
				case 1:
					line = "\x1b[01;31m\x1b[K" + line + "\x1b[m\x1b[K:" // grep --color
				}
				b.WriteString(line + "\r\n")
			}
		}
	}
	return []byte(b.String())
}

// TestSkipPlainChangesNothing feeds the same output to a model in chunks
// (where skipPlain passes over lines, and chunks of plain lines only are
// held back) and draws it one byte at a time (where neither can happen: a
// line needs its end in the same chunk), and compares what either could ever read: the
// rows on the screen, the cursor, and every tricky row that scrolled off.
// It compares at the end, after the lines held back are drawn, and now and
// then in between, where another stream's write would draw them
// (Interleave).
func TestSkipPlainChangesNothing(t *testing.T) {
	for seed := range uint64(12) {
		rng := rand.New(rand.NewPCG(seed, 99))
		out := mixedOutput(rng, 200<<10)
		for _, size := range [][3]int{{80, 24, 1}, {80, 24, 0}, {1000, 200, 1}, {37, 5, 0}} {
			chunked, bytewise := newTerm(size[0], size[1]), newTerm(size[0], size[1])
			chunked.onlcr, bytewise.onlcr = size[2] == 1, size[2] == 1
			fed := 0
			// compare draws the reference up to upto, a byte at a time and
			// never held back, and compares after drawing what chunked held.
			compare := func(upto int) {
				t.Helper()
				for ; fed < upto; fed++ {
					bytewise.draw(out[fed:fed+1], int64(fed), 0, false)
				}
				chunked.settle()
				if d := termDiff(chunked, bytewise); d != "" {
					t.Fatalf("seed %d, %dx%d onlcr=%v, %d bytes: %s", seed, size[0], size[1], size[2] == 1, fed, d)
				}
			}
			for i := 0; i < len(out); {
				n := 1 + rng.IntN(64<<10)
				if rng.IntN(2) == 0 {
					n = 1 + rng.IntN(4096) // shorter than a screenful of lines
				}
				n = min(len(out)-i, n)
				chunked.feed(out[i:i+n], int64(i))
				i += n
				if rng.IntN(16) == 0 {
					compare(i)
				}
			}
			compare(len(out))
		}
	}
}

func termDiff(a, b *term) string {
	if a.x != b.x || a.y != b.y || a.wrap != b.wrap {
		return fmt.Sprintf("cursor (%d,%d,%v) vs (%d,%d,%v)", a.x, a.y, a.wrap, b.x, b.y, b.wrap)
	}
	for y := range a.rows {
		if d := rowDiff(a.rows[y], b.rows[y]); d != "" {
			return fmt.Sprintf("row %d: %s", y, d)
		}
	}
	ta, tb := trickyRows(a.gone), trickyRows(b.gone)
	if len(ta) != len(tb) {
		return fmt.Sprintf("%d tricky rows scrolled off vs %d", len(ta), len(tb))
	}
	for k := range ta {
		if d := rowDiff(ta[k], tb[k]); d != "" {
			return fmt.Sprintf("tricky row %d scrolled off: %s", k, d)
		}
	}
	return ""
}

func trickyRows(rs []*row) []*row {
	var out []*row
	for _, r := range rs {
		if r.tricky {
			out = append(out, r)
		}
	}
	return out
}

func rowDiff(a, b *row) string {
	if a.used != b.used || a.end != b.end || a.tricky != b.tricky || a.cand != b.cand || a.esc != b.esc || a.touched != b.touched {
		return fmt.Sprintf("%+v vs %+v", *a, *b)
	}
	if !slices.Equal(a.cells[:a.used], b.cells[:b.used]) {
		return "cells differ"
	}
	return ""
}

func TestPrintableWord(t *testing.T) {
	for c := range 256 {
		for pos := range 8 {
			w := []byte("abcdefgh")
			w[pos] = byte(c)
			want := c >= 0x20 && c < 0x7f
			if got := printableWord(binary.LittleEndian.Uint64(w)); got != want {
				t.Fatalf("printableWord(%q) = %v", w, got)
			}
		}
	}
}

// TestMarkOnly checks the controls feed passes over in runs: each does
// what control does with it, which is only to make the row tricky.
func TestMarkOnly(t *testing.T) {
	for c := range 256 {
		if !markOnly[c] {
			continue
		}
		a, b := newTerm(80, 24), newTerm(80, 24)
		a.feed([]byte("123-45"), 0)
		b.feed([]byte("123-45"), 0)
		a.control(byte(c))
		b.mark()
		if d := termDiff(a, b); d != "" || a.state != b.state {
			t.Errorf("control %#x: %s", c, d)
		}
	}
}
