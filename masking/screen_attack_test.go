package masking

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// Attempts to get a value past the screen model's shortcuts: plain lines
// passed over within a chunk (skipPlain) and plain lines held back across
// chunks (screen_pending.go). Each trick completes a value on the screen
// that no byte run holds; whatever the chunk boundaries, and whether the
// chunks reach the Screen directly or through a Stream, the screen must
// not show it whole.

// otherStream in a case's chunks says the next chunks are another
// stream's, writing to the same terminal (stderr after stdout).
const otherStream = "\x00<other stream>\x00"

// screenFeed masks chunks with a Screen for a cols × rows terminal (zero:
// none), through a Stream per stream when viaStream, and returns the
// output. An otherStream chunk switches streams, as the server does.
func screenFeed(m *Masker, cols, rows int, viaStream bool, chunks []string) string {
	sc := m.NewScreen(cols, rows)
	streams := []*Stream{m.NewStream(), m.NewStream()}
	cur := 0
	var out []byte
	var off int64
	step := func(b []byte) {
		if len(b) == 0 {
			return
		}
		sc.Mask(b, off)
		off += int64(len(b))
		out = append(out, b...)
	}
	for _, c := range chunks {
		if c == otherStream {
			if viaStream {
				step(streams[cur].Flush())
			}
			cur = 1 - cur
			sc.Interleave()
			continue
		}
		if !viaStream {
			step([]byte(c))
			continue
		}
		step(streams[cur].Write([]byte(c)))
	}
	if viaStream {
		step(streams[cur].Flush())
	}
	return string(out)
}

// renderAt is the screen a cols × rows terminal shows after out, with
// line feeds that return the cursor.
func renderAt(out string, cols, rows int) string {
	tm := newTerm(cols, rows)
	tm.onlcr = true
	tm.feed([]byte(out), 0)
	tm.settle()
	var b strings.Builder
	for _, r := range tm.rows {
		for _, c := range r.cells {
			if c.ch != wideTail {
				b.WriteByte(screenByte(c.ch))
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// cutInto cuts s into chunks of size bytes.
func cutInto(s string, size int) []string {
	var chunks []string
	for len(s) > 0 {
		n := min(size, len(s))
		chunks = append(chunks, s[:n])
		s = s[n:]
	}
	return chunks
}

// plainOf is plain lines of exactly n bytes (n >= 2), the last line cut
// so that it ends with end.
func plainOf(n int, end string) string {
	var b strings.Builder
	for i := 0; b.Len()+40+len(end) < n; i++ {
		b.WriteString("plain line of the log number " + strings.Repeat("x", i%5) + "\r\n")
	}
	b.WriteString(strings.Repeat("y", n-b.Len()-len(end)-2) + "\r\n" + end)
	return b.String()
}

func TestScreenAttackHeldLines(t *testing.T) {
	m := newTestMasker(t, Config{})
	held := plainLines(250) // more than the large model's rows: both hold
	cases := []struct {
		name string
		// prefix is fed in chunks of several sizes (held back when it
		// ends one), then trick cut at each byte (unless whole).
		prefix, trick string
		whole         bool
		leak          string
		cols, rows    int // the terminal the leak is looked for on (0: 80 × 24)
	}{
		// A read that ends inside a line end or an escape sequence.
		{name: "cut-in-crlf", prefix: held + "123-45-\r", trick: "\n\x1bM\x1b[8G6789\r\n", leak: "123-45-6789"},
		{name: "cut-after-esc", prefix: held + "123-45-\x1b", trick: "[8G6789\r\n", leak: "123-45-6789"},
		{name: "cut-after-csi", prefix: held + "123-45-\x1b[", trick: "8G6789\r\n", leak: "123-45-6789"},
		{name: "cut-in-csi-params", prefix: held + "123-45-\x1b[8", trick: "G6789\r\n", leak: "123-45-6789"},
		{name: "cut-in-sgr", prefix: held + "123-45-\x1b[3", trick: "1m\x1b[8G6789\x1b[m\r\n", leak: "123-45-6789"},
		{name: "cut-after-el", prefix: held + "123-45-\x1b[K", trick: "\x1b[8G6789\r\n", leak: "123-45-6789"},
		// Held lines followed by cursor motion and overwrites.
		{name: "up-and-overwrite", prefix: held + "000-00-6789\r\n" + plainLines(5), trick: "\x1b[6A\r123-45\r\n", leak: "123-45-6789"},
		{name: "lines-then-up-same-chunk", prefix: held + "123-45-\r\n", trick: plainLines(3) + "\x1b[4A\x1b[8G6789\r\n", leak: "123-45-6789"},
		// Enough lines in the read that ends the run for what is held to
		// be moved to the front of its buffer (heldLines) as the run is
		// measured.
		{name: "many-lines-then-up-same-chunk", prefix: held, trick: plainLines(400) + "123-45-\r\n\x1b[A\x1b[8G6789\r\n", whole: true, leak: "123-45-6789"},
		{name: "many-lines-then-up-large", prefix: held, trick: plainLines(600) + "123-45-\r\n\x1b[A\x1b[8G6789\r\n", whole: true, leak: "123-45-6789", cols: largeCols, rows: largeRows},
		{name: "zero-width-after-held", prefix: held + "123", trick: "\u200b-45-\u200b6789\r\n", leak: "123-45-6789"},
		{name: "nul-after-held", prefix: held + "123-45", trick: "\x00-6789\r\n", leak: "123-45-6789"},
		{name: "cr-without-lf", prefix: held + "000-00-6789\r", trick: "123-45\r\n", leak: "123-45-6789"},
		{name: "tab-back-into-held", prefix: held + "1     -6789\r\n", trick: "\x1bM\r\t\b\b\b\b\b\b\b23-45\r\n", leak: "123-45-6789"},
		{name: "card-by-cha", prefix: held + "4111 1111 ", trick: "\x1b[11G1111 1111\r\n", leak: "4111 1111 1111 1111"},
		{name: "mrn-by-cha", prefix: held + "MRN: 12", trick: "\x1b[8G34567\r\n", leak: "MRN: 1234567"},
		// Lines longer than the width: the small model wraps them, and
		// the large one too past 1000 columns.
		{name: "wrapped-small", prefix: held + strings.Repeat("x", 80) + "123-45-", trick: "\x1b[8G6789\r\n", leak: "123-45-6789"},
		{name: "wrapped-large", prefix: held + strings.Repeat("x", 1000) + "123-45-", trick: "\x1b[8G6789\r\n", leak: "123-45-6789", cols: largeCols, rows: largeRows},
		{name: "wrapped-exactly-width", prefix: held + strings.Repeat("x", 80) + "\r\n123-45-\r\n", trick: "\x1b[A\x1b[8G6789\r\n", leak: "123-45-6789"},
		// Look-alike wide characters, cut inside one by the end of a read
		// (a Stream lets a character cut short go after its idle delay):
		// the read that ends it masks its last bytes.
		{name: "fullwidth-cut", prefix: held + "１２３-４５-\xef\xbc", trick: "\x96\xef\xbc\x97\xef\xbc\x98\xef\xbc\x99\r\n", leak: "123-45-6789"},
		{name: "ascii-then-fullwidth", prefix: held + "123-45-", trick: "６７８９\r\n", leak: "123-45-6789"},
		// Exactly a screenful of rows below the value.
		{name: "screenful-home", prefix: held + "123-45-\r\n" + plainLines(22), trick: "\x1b[H\x1b[8G6789", leak: "123-45-6789"},
		{name: "screenful-up", prefix: held + "123-45-\r\n" + plainLines(22), trick: "\x1b[23A\x1b[8G6789", leak: "123-45-6789"},
		{name: "large-screenful-up", prefix: held + "123-45-\r\n" + plainLines(198), trick: "\x1b[199A\x1b[8G6789", leak: "123-45-6789", cols: largeCols, rows: largeRows},
		// The alternate screen and scrolling regions.
		{name: "alt-screen-and-back", prefix: held + "123-45-", trick: "\x1b[?1049h\x1b[2Jx\x1b[?1049l\x1b[8G6789\r\n", leak: "123-45-6789"},
		{name: "held-on-alt-screen", prefix: "\x1b[?1049h" + held + "123-45-", trick: "\x1b[8G6789\r\n", leak: "123-45-6789"},
		{name: "alt-lines-then-back", prefix: held + "123-45-", trick: "\x1b[?1049h" + plainLines(30) + "\x1b[?1049l\x1b[8G6789", leak: "123-45-6789"},
		{name: "region-after-held", prefix: held + "123-45-\r\nx\r\n", trick: "\x1b[1;22r\x1b[22;8H6789\r\n", leak: "123-45-6789"},
		{name: "held-in-region", prefix: "\x1b[1;22r\x1b[22;1H" + held + "123-45-", trick: "\x1b[8G6789\r\n", leak: "123-45-6789"},
		{name: "reverse-index-scroll", prefix: held + "123-45-\r\n", trick: "\x1b[H\x1bM\x1b[24;8H6789", leak: "", whole: true},
		// An erase that reveals a value the erased character kept apart.
		{name: "erase-reveals", prefix: held, trick: "123-45-67890\b\x1b[K\r\n", whole: true, leak: "123-45-6789"},
		// Another stream writes between the held lines and the trick.
		{name: "other-stream-cha", prefix: held + "123-45-", trick: otherStream + "\x1b[8G6789\r\n", whole: true, leak: "123-45-6789"},
		{name: "other-stream-overwrite", prefix: held + "000-00-6789\r\n", trick: otherStream + "\x1bM\r123-45\r\n", whole: true, leak: "123-45-6789"},
		{name: "other-stream-continues", prefix: held + "123-45-", trick: otherStream + "6789\r\n" + plainLines(3), whole: true, leak: "123-45-6789"},
		{name: "other-stream-between-cut-escape", prefix: held + "123-45-\x1b[8", trick: otherStream + "G6789\r\n", whole: true, leak: "123-45-6789"},
		{name: "other-stream-lines-then-up", prefix: held + "123-45-\r\n", trick: otherStream + plainLines(4) + otherStream + "\x1b[5A\x1b[8G6789\r\n", whole: true, leak: "123-45-6789"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cols, rows := tc.cols, tc.rows
			if cols == 0 {
				cols, rows = 80, 24
			}
			whole := strings.ReplaceAll(tc.prefix+tc.trick, otherStream, "")
			if tc.leak == "" {
				return // a shape that needs no value: it must only run
			}
			if !strings.Contains(renderAt(whole, cols, rows), tc.leak) {
				t.Fatalf("the trick does not draw %q", tc.leak)
			}
			cuts := []int{0}
			if !tc.whole {
				cuts = cuts[:0]
				for cut := 0; cut <= len(tc.trick); cut++ {
					cuts = append(cuts, cut)
				}
			}
			for _, viaStream := range []bool{false, true} {
				for _, size := range []int{len(tc.prefix), 4096, 100, 7} {
					for _, cut := range cuts {
						chunks := cutInto(tc.prefix, size)
						if tc.whole {
							chunks = append(chunks, strings.SplitAfter(tc.trick, otherStream)...)
							chunks = splitOther(chunks)
						} else {
							chunks = append(chunks, tc.trick[:cut], tc.trick[cut:])
						}
						out := screenFeed(m, 0, 0, viaStream, chunks)
						if screen := renderAt(out, cols, rows); strings.Contains(screen, tc.leak) {
							t.Fatalf("via stream %v, chunks of %d, trick cut at %d: screen shows %q", viaStream, size, cut, tc.leak)
						}
						if len(out) != len(whole) {
							t.Fatalf("length changed: %d, want %d", len(out), len(whole))
						}
					}
				}
			}
		})
	}
}

// splitOther separates the otherStream marks that strings.SplitAfter left
// at the ends of chunks.
func splitOther(chunks []string) []string {
	var out []string
	for _, c := range chunks {
		if rest, ok := strings.CutSuffix(c, otherStream); ok {
			out = append(out, rest, otherStream)
			continue
		}
		out = append(out, c)
	}
	return out
}

// Reads at the size limit of what is held back (pendingMax), one byte
// either side, and smaller and larger ones up to 256 KiB, ending in the
// first part of a value that the next read completes by cursor motion;
// after reads of plain lines that were held.
func TestScreenAttackPendingMaxReads(t *testing.T) {
	m := newTestMasker(t, Config{})
	for _, n := range []int{4096, pendingMax - 1, pendingMax, pendingMax + 1, 100 << 10, 256 << 10} {
		for _, before := range [][]string{nil, {plainOf(n, "")}, {plainOf(4096, ""), plainOf(n, "")}} {
			chunks := append(append([]string(nil), before...), plainOf(n, "123-45-"), "\x1b[8G6789\r\n")
			out := screenFeed(m, 0, 0, false, chunks)
			if screen := renderAt(out, 80, 24); strings.Contains(screen, "123-45-6789") {
				t.Fatalf("reads of %d after %d reads: screen shows the value", n, len(before))
			}
		}
	}
}

// The Screen masks in place and returns: it never keeps back any of the
// bytes it is given, even those it holds back from its model, so the
// client sees each read at once and nothing is left over when the
// session ends with lines held.
func TestScreenAttackHoldingDelaysNothing(t *testing.T) {
	m := newTestMasker(t, Config{})
	sc := m.NewScreen(0, 0)
	in := plainLines(300) + "last line cut"
	var off int64
	for _, c := range cutInto(in, 100) {
		b := []byte(c)
		if f := sc.Mask(b, off); len(f) != 0 || string(b) != c {
			t.Fatalf("plain lines changed: %q", b)
		}
		off += int64(len(b))
	}
	if held := len(sc.terms[0].pend.b); held == 0 {
		t.Fatal("nothing held: the test does not exercise holding")
	}
}

// A line that never ends (base64 -w0, a minified JSON document) in small
// reads: what is held back of it, and so what each read scans again, stays
// bounded, rather than growing with the line (memory, and a scan of the
// whole line so far for every read, before the client sees the read).
func TestScreenAttackEndlessLineBounded(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {largeCols, largeRows}} {
		tm := newTerm(size[0], size[1])
		tm.onlcr = true
		line := []byte(plainLines(250) + strings.Repeat("QUJDREVGR0g=", 40<<10)) // 480 KiB without a line end
		for i := 0; i < len(line); i += 4096 {
			tm.feed(line[i:min(i+4096, len(line))], int64(i))
			if n := len(tm.pend.b) - tm.pend.start; n > pendingMax+4096 {
				t.Fatalf("%dx%d: %d bytes held after %d bytes fed", size[0], size[1], n, i+4096)
			}
		}
	}
}

// What is held back is only ever plain lines, with at most a line cut short
// at its end: anything else must be drawn before the check after its chunk
// reads the screen. Mixed output in reads of every size up to 16 KiB, and
// bulk output in reads up to 256 KiB, on both models.
func TestScreenAttackHeldIsPlain(t *testing.T) {
	for seed := range uint64(8) {
		rng := rand.New(rand.NewPCG(seed, 7))
		out, read := mixedOutput(rng, 300<<10), func() int { return 1 + rng.IntN(16<<10) }
		if seed >= 6 {
			out, read = bulkOutput(rng, 1<<20), func() int { return readSize(rng) }
		}
		for _, size := range [][2]int{{80, 24}, {largeCols, largeRows}} {
			tm := newTerm(size[0], size[1])
			tm.onlcr = true
			for i := 0; i < len(out); {
				n := min(len(out)-i, read())
				tm.feed(out[i:i+n], int64(i))
				i += n
				p := &tm.pend
				if len(p.b) == 0 {
					continue
				}
				if _, run, open := tm.plainRun(p.b[p.start:]); p.start+run != len(p.b) && !open {
					t.Fatalf("seed %d, %dx%d, %d bytes fed: held %q after the plain lines", seed, size[0], size[1], i, p.b[p.start+run:][:min(80, len(p.b)-p.start-run)])
				}
			}
		}
	}
}

// trickOutput is bulk output with values completed by cursor motion: runs
// of plain lines (each on one row, ended by end) that now and then hold
// the first part of a value ("id 123-45-"), each run ended by a trick that
// moves the cursor up to the last such line and completes the value there
// ("6789", held back as plain lines so far, drawn at once or dropped
// undrawn depending on the reads), or by another tail (bulkTails).
func trickOutput(rng *rand.Rand, n int, end string) []byte {
	const text = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5"
	var b strings.Builder
	for b.Len() < n {
		since := -1 // lines after the last first part of a value
		lines := rng.IntN(100)
		if rng.IntN(4) == 0 {
			lines = rng.IntN(3000)
		}
		for range lines {
			if rng.IntN(30) == 0 {
				b.WriteString("id 123-45-" + end)
				since = 0
				continue
			}
			b.WriteString(text[:rng.IntN(len(text))] + end)
			if since >= 0 {
				since++
			}
		}
		if since >= 0 && rng.IntN(4) > 0 {
			fmt.Fprintf(&b, "\x1b[%dA\x1b[11G6789\x1b[%dB\r", since+1, since+1)
			continue
		}
		b.WriteString(bulkTails[rng.IntN(len(bulkTails))])
	}
	return []byte(b.String())
}

// slowScreen is a Screen whose models never pass over plain lines nor hold
// them back: they draw every byte as it comes.
func slowScreen(m *Masker, cols, rows int) *Screen {
	sc := m.NewScreen(cols, rows)
	for _, t := range sc.terms {
		t.plainNext = math.MaxInt64 // never at a run of plain lines
	}
	return sc
}

// Whatever the reads, from a few bytes to 256 KiB, a Screen that passes
// over plain lines, holds them back and drops them undrawn masks the same
// bytes and reports the same findings after each read as one that draws
// every byte: values completed on rows of lines held, or on rows their
// drawing would scroll, by cursor motion after long runs of lines. With
// another stream writing now and then (Interleave).
func TestScreenAttackBulkThenTrick(t *testing.T) {
	m := newTestMasker(t, Config{})
	for seed := range uint64(8) {
		for _, size := range [][2]int{{0, 0}, {80, 24}} {
			end := "\n" // no pty: the model returns the cursor (onlcr)
			if size[0] > 0 {
				end = "\r\n"
			}
			rng := rand.New(rand.NewPCG(seed, 42))
			out := trickOutput(rng, 1<<20, end)
			fast, slow := m.NewScreen(size[0], size[1]), slowScreen(m, size[0], size[1])
			found := 0
			for i := 0; i < len(out); {
				n := readSize(rng)
				if seed%2 == 0 {
					n = 1 + rng.IntN(4096)
				}
				n = min(n, len(out)-i)
				a, b := slices.Clone(out[i:i+n]), slices.Clone(out[i:i+n])
				fa, fb := fast.Mask(a, int64(i)), slow.Mask(b, int64(i))
				if !bytes.Equal(a, b) || !slices.Equal(fa, fb) {
					t.Fatalf("seed %d, %dx%d, read of %d at %d: masked %q, findings %v; drawing every byte: %q, %v", seed, size[0], size[1], n, i, diffAt(a, b), fa, diffAt(b, a), fb)
				}
				found += len(fa)
				i += n
				if rng.IntN(20) == 0 {
					fast.Interleave()
					slow.Interleave()
				}
			}
			if found < 10 {
				t.Fatalf("seed %d, %dx%d: %d values found: the test does not exercise masking", seed, size[0], size[1], found)
			}
		}
	}
}

// diffAt is a of a and b from a little before where they first differ.
func diffAt(a, b []byte) []byte {
	i := 0
	for i < min(len(a), len(b)) && a[i] == b[i] {
		i++
	}
	return a[max(0, i-20):min(len(a), i+20)]
}

// A value completed by cursor motion on a row of lines held back, after
// plain lines in reads of one size: fewer lines than the screen has rows,
// about as many and more, and more than pendingMax bytes up to 100 KiB. So
// that one model's shortcuts are not covered for by the other's, the trick
// finds the row with the value's first part on one model only: by its row
// on the small model's screen (CUP), or by moving up more rows than the
// small model has (CUU). A read ends at every position from 30 bytes before
// the trick to its end (12 with large reads), around the line with the
// value's first part (not with large reads), or half a read or a read
// before the trick; with the smallest reads on the small model, a read of
// 1 to 12 bytes follows one that ends around the trick. After each read the Screen masks the
// same bytes and reports the same findings as one that draws every byte,
// and the value is found.
func TestScreenAttackTrickAfterReads(t *testing.T) {
	m := newTestMasker(t, Config{})
	for _, md := range []struct {
		cols, rows int
		end        string
	}{{0, 0, "\n"}, {80, 24, "\r\n"}} {
		line := 10 + len(md.end)
		for _, tc := range []struct {
			h, above int // the model that sees the value, and the lines between
			trick    string
		}{
			{24, 0, "\x1b[23;11H6789\x1b[24;1H"},
			{24, 5, "\x1b[18;11H6789\x1b[24;1H"},
			{24, 22, "\x1b[1;11H6789\x1b[24;1H"},
			{largeRows, 30, "\x1b[31A\x1b[11G6789\x1b[31B\r"},
			{largeRows, largeRows - 2, fmt.Sprintf("\x1b[%dA\x1b[11G6789\x1b[%[1]dB\r", largeRows-1)},
		} {
			sizes := []int{line * tc.h / 2, line*(tc.h-1) + 3, line * tc.h, line*(tc.h+1) + 5, pendingMax + 1, 100 << 10}
			for _, size := range sizes {
				lines := linesOf(size+300, 10, md.end)
				idAt := len(lines)
				lines += "id 123-45-" + md.end + linesOf(tc.above*line, 10, md.end)
				out := []byte(lines + tc.trick + linesOf(300, 10, md.end))
				at := len(lines)
				cuts := []int{at - size/2, at - size + 1}
				before := 12 // large reads: the last line and the trick
				if size < 4096 {
					before = 30
					for c := idAt - 12; c <= idAt+line+2; c++ {
						cuts = append(cuts, c)
					}
				}
				for c := at - before; c <= at+len(tc.trick); c++ {
					cuts = append(cuts, c)
				}
				for _, cut := range cuts {
					shorts := []int{0}
					if size == sizes[0] && tc.h < largeRows && cut >= at-before {
						for n := 1; n <= 12; n++ {
							shorts = append(shorts, n)
						}
					}
					for _, short := range shorts {
						var ends []int
						for e := cut % size; e < cut; e += size {
							if e > 0 {
								ends = append(ends, e)
							}
						}
						ends = append(ends, cut)
						if short > 0 {
							ends = append(ends, cut+short)
						}
						for e := ends[len(ends)-1] + size; e < len(out); e += size {
							ends = append(ends, e)
						}
						ends = append(ends, len(out))
						what := fmt.Sprintf("%dx%d, %d lines above, reads of %d ending at %v (value at %d, trick at %d)", md.cols, md.rows, tc.above, size, ends, idAt, at)
						screenMatchesDrawing(t, m, md.cols, md.rows, out, ends, what)
					}
				}
			}
		}
	}
}

// screenMatchesDrawing masks out in reads ending at ends with a Screen and
// with one that draws every byte (slowScreen), and fails unless after each
// read both masked the same bytes and reported the same findings, and
// they found a value.
func screenMatchesDrawing(t *testing.T, m *Masker, cols, rows int, out []byte, ends []int, what string) {
	t.Helper()
	fast, slow := m.NewScreen(cols, rows), slowScreen(m, cols, rows)
	found, from := 0, 0
	for _, e := range ends {
		a, b := slices.Clone(out[from:e]), slices.Clone(out[from:e])
		fa, fb := fast.Mask(a, int64(from)), slow.Mask(b, int64(from))
		if !bytes.Equal(a, b) || !slices.Equal(fa, fb) {
			t.Fatalf("%s, read %d-%d: masked %q, findings %v; drawing every byte: %q, %v", what, from, e, diffAt(a, b), fa, diffAt(b, a), fb)
		}
		found += len(fa)
		from = e
	}
	if found == 0 {
		t.Fatalf("%s: the value is not found", what)
	}
}
