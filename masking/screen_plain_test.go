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

// bulkTails is what may end a long run of plain lines: cursor motion back
// over the rows the run drew, CR without LF, wide characters wrapping at the
// margin, colours past escTricky, erases over text, UTF-8 and look-alike
// digits, string sequences, a bare line feed, tabs, the alternate screen, a
// scrolling region, autowrap off, insert mode, controls, a clear.
var bulkTails = []string{
	"\x1b[3A\x1b[8G6789\x1b[3B\r\n",
	"\x1b[30A\x1b[4G-6789\r\n\x1b[30B",
	"000-00-6789\r123-45\r\n",
	"progress 10%\rprogress 20%\r",
	strings.Repeat("日本", 45) + "\r\n",
	"\x1b[1;31m" + strings.Repeat("\x1b[0m\x1b[1;31m", 9) + "red\x1b[0m\r\n",
	"abc\b\b\x1b[K\r\n",
	"\x1b[2K\r\n",
	"héllo １２３-４５-６７８９\r\n",
	"\x1b]0;title\x07",
	"bare line feed\n",
	"a\tb\r\n",
	"\x1b[?1049h\x1b[Hfull screen\x1b[?1049l",
	"\x1b[2;10r\x1b[5;1Hregion\r\n\x1b[r\x1b[999;1H",
	"\x1b[?7l" + strings.Repeat("z", 120) + "\r\n\x1b[?7h",
	"\x1b[4hins\x1b[4l\r\n",
	"\x00\x07 123\r\n",
	"\x1b[H\x1b[J\x1b[999;1H",
}

// bulkOutput is what a bulk transfer or a long log prints: runs of plain
// lines, from a few up to many screens of the large model, of short lines,
// lines that wrap, lines about as wide as a model, colours and erases (grep
// --color) and the first part of a value, each run ended by one of bulkTails. A run's lines end in CR LF,
// or in a bare LF (plain only where the model returns the cursor on it).
func bulkOutput(rng *rand.Rand, n int) []byte {
	var b strings.Builder
	for b.Len() < n {
		end := "\r\n"
		if rng.IntN(4) == 0 {
			end = "\n"
		}
		for range rng.IntN(4000) {
			switch rng.IntN(40) {
			case 0:
				b.WriteString(strings.Repeat("y", rng.IntN(2200))) // wraps the large model too
			case 1:
				b.WriteString("\x1b[01;31m\x1b[Kmatch\x1b[m\x1b[K: " + strings.Repeat("x", rng.IntN(60)))
			case 2:
				b.WriteString("id 123-45-")
			case 3, 4, 5: // about the width of a model, or twice it
				b.WriteString(strings.Repeat("w", []int{36, 37, 38, 74, 79, 80, 81, 160, 999, 1000, 1001, 2000}[rng.IntN(12)]))
			default:
				b.WriteString("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5"[:rng.IntN(68)])
			}
			b.WriteString(end)
		}
		b.WriteString(bulkTails[rng.IntN(len(bulkTails))])
	}
	return []byte(b.String())
}

// readSize is the size of a read: small ones (a log shown in pieces), up to
// pendingMax, exactly at it and either side, and larger ones up to the
// proxy's largest read (256 KiB).
func readSize(rng *rand.Rand) int {
	switch rng.IntN(5) {
	case 0:
		return 1 + rng.IntN(4096)
	case 1:
		return 1 + rng.IntN(pendingMax)
	case 2:
		return pendingMax - 1 + rng.IntN(3)
	}
	return pendingMax + 1 + rng.IntN(192<<10)
}

// TestSkipPlainChangesNothing feeds the same output to a model in chunks
// (where skipPlain passes over lines, and chunks of plain lines only are
// held back, or dropped undrawn) and draws it one byte at a time (where
// none of this can happen: a line needs its end in the same chunk), and
// compares what either could ever read: the rows on the screen, the cursor,
// and every tricky row that scrolled off. It compares after each chunk, on
// a copy of the chunked model that draws what it holds (settledCopy), and
// now and then draws what is held in the model itself, as another stream's
// write would (Interleave). Mixed output in small and medium reads, and
// bulk output in reads of every size up to 256 KiB.
func TestSkipPlainChangesNothing(t *testing.T) {
	type input struct {
		out  []byte
		read func(*rand.Rand) int
	}
	var inputs []input
	for seed := range uint64(12) {
		rng := rand.New(rand.NewPCG(seed, 99))
		inputs = append(inputs, input{mixedOutput(rng, 200<<10), func(rng *rand.Rand) int {
			if rng.IntN(2) == 0 {
				return 1 + rng.IntN(4096) // shorter than a screenful of lines
			}
			return 1 + rng.IntN(64<<10)
		}})
	}
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 98))
		inputs = append(inputs, input{bulkOutput(rng, 800<<10), readSize})
	}
	for n, in := range inputs {
		rng := rand.New(rand.NewPCG(uint64(n), 97))
		out := in.out
		for _, size := range [][3]int{{80, 24, 1}, {80, 24, 0}, {1000, 200, 1}, {37, 5, 0}} {
			chunked, bytewise := newTerm(size[0], size[1]), newTerm(size[0], size[1])
			chunked.onlcr, bytewise.onlcr = size[2] == 1, size[2] == 1
			fed := 0
			// compare draws the reference up to upto, a byte at a time and
			// never held back, and compares it with what chunked shows
			// after it draws what it holds.
			compare := func(upto int, settled *term) {
				t.Helper()
				for ; fed < upto; fed++ {
					bytewise.draw(out[fed:fed+1], int64(fed), 0, false)
				}
				if d := termDiff(settled, bytewise); d != "" {
					t.Fatalf("input %d, %dx%d onlcr=%v, %d bytes: %s", n, size[0], size[1], size[2] == 1, fed, d)
				}
			}
			for i := 0; i < len(out); {
				k := min(len(out)-i, in.read(rng))
				chunked.feed(out[i:i+k], int64(i))
				i += k
				if rng.IntN(16) == 0 {
					chunked.settle()
					compare(i, chunked)
				} else {
					compare(i, settledCopy(chunked))
				}
			}
			chunked.settle()
			compare(len(out), chunked)
		}
	}
}

// settledCopy returns a copy of t that draws what t holds back, leaving t
// as it is: what t shows once it draws it.
func settledCopy(t *term) *term {
	c := *t
	c.rows = cloneRows(t.rows)
	c.rowBuf = c.rows
	c.main = cloneRows(t.main)
	c.mainBuf = c.main
	c.gone = slices.Clip(t.gone) // rows scrolled off do not change
	c.free, c.plain = nil, nil
	c.params, c.tabs = slices.Clone(t.params), slices.Clone(t.tabs)
	c.pend = pending{
		b: slices.Clone(t.pend.b), off: t.pend.off, start: t.pend.start,
		lines: slices.Clone(t.pend.lines), first: t.pend.first, rows: t.pend.rows,
		dropped: t.pend.dropped,
	}
	c.settle()
	return &c
}

func cloneRows(rs []*row) []*row {
	if rs == nil {
		return nil
	}
	n := 0
	for _, r := range rs {
		n += r.used
	}
	out, rows, cells := make([]*row, len(rs)), make([]row, len(rs)), make([]cell, 0, n)
	for i, r := range rs {
		rows[i] = *r
		cells = append(cells, r.cells[:r.used]...) // the rest is blank
		rows[i].cells = cells[len(cells)-r.used : len(cells) : len(cells)]
		out[i] = &rows[i]
	}
	return out
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
		return fmt.Sprintf("%s vs %s", rowString(a), rowString(b))
	}
	if !slices.Equal(a.cells[:a.used], b.cells[:b.used]) {
		return fmt.Sprintf("cells differ: %q vs %q", rowText(a), rowText(b))
	}
	return ""
}

func rowString(r *row) string {
	return fmt.Sprintf("{used:%d end:%d tricky:%v cand:%v esc:%d touched:%v %q}", r.used, r.end, r.tricky, r.cand, r.esc, r.touched, rowText(r))
}

// rowText is what r shows, its first 100 characters.
func rowText(r *row) string {
	var b strings.Builder
	for _, c := range r.cells[:min(r.used, 100)] {
		b.WriteByte(screenByte(c.ch))
	}
	return b.String()
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

// printable agrees with a byte-by-byte check at every length up to three
// words, with any byte at any position (the words overlap at the end).
func TestPrintable(t *testing.T) {
	for n := range 25 {
		for pos := range n {
			for c := range 256 {
				b := []byte(strings.Repeat("a", n))
				b[pos] = byte(c)
				want := c >= 0x20 && c < 0x7f
				if got := printable(b); got != want {
					t.Fatalf("printable(%q) = %v", b, got)
				}
			}
		}
	}
}

// plainRun counts the rows a line takes as the model prints it: one per
// width of text or part of one, at least one; for text alone (found at
// once) and with colours (scanned a byte at a time), at every length up to
// three widths.
func TestPlainRunRows(t *testing.T) {
	for _, w := range []int{37, 80} {
		for _, end := range []string{"\r\n", "\n"} {
			tm := newTerm(w, 24)
			tm.onlcr = end == "\n"
			for n := range 3*w + 2 {
				for _, line := range []string{strings.Repeat("a", n), "\x1b[1m" + strings.Repeat("a", n) + "\x1b[m"} {
					b := []byte(line + end + "more")
					_, run, _ := tm.plainRun(b)
					if want := max(1, (n+w-1)/w); run != len(line)+len(end) || len(tm.plain) != 1 || tm.plain[0].rows != want {
						t.Fatalf("width %d, %q: run %d, lines %v, want one of %d rows", w, b, run, tm.plain, want)
					}
				}
			}
		}
	}
}
