package masking

import (
	"fmt"
	"strings"
	"testing"
)

// plainLines is n plain lines, as a log or cat prints them.
func plainLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "line %d of the log\r\n", i)
	}
	return b.String()
}

// Plain lines held back across chunks are drawn before anything that can
// use them (more lines than the large model's rows, so that both models
// hold them): a value completed on their rows by a later chunk, whatever the
// chunk boundaries, is masked as it is when they are drawn at once.
func TestScreenHeldLinesTricks(t *testing.T) {
	m := newTestMasker(t, Config{})
	cases := []struct {
		name  string
		plain string // held back when it ends a chunk
		trick string
		leak  string
	}{
		{"cup-after-lines", plainLines(250), "\x1b[5;1H\x1b[2K123-45-\x1b[5;8H6789\r\n", "123-45-6789"},
		{"cha-after-partial", plainLines(250) + "id 123-45-", "\x1b[11G6789\r\n", "123-45-6789"},
		{"up-into-held-row", plainLines(250) + "123-45-\r\ny\r\n", "\x1b[2A\x1b[8G6789\r\n", "123-45-6789"},
		{"up-past-dropped-lines", plainLines(300) + "123-45-\r\n" + plainLines(20), "\x1b[21A\x1b[8G6789\r\n", "123-45-6789"},
		{"backspace-into-partial", plainLines(250) + "123-45-678x", "\b9\r\n", "123-45-6789"},
		{"overwrite-held-line", plainLines(250) + "000-00-6789\r\n", "\x1bM\r123-45\r\n", "123-45-6789"},
		{"insert-into-held-line", plainLines(250) + "6789\r\n", "\x1b[A\x1b[4h123-45-\x1b[4l\r\n", "123-45-6789"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			whole := tc.plain + tc.trick
			if !strings.Contains(render(whole), tc.leak) {
				t.Fatalf("the trick does not draw %q", tc.leak)
			}
			// The plain lines in chunks of every size down to a few
			// bytes, then the trick cut at each of its bytes.
			for _, size := range []int{len(tc.plain), 4096, 100, 7} {
				for cut := 0; cut <= len(tc.trick); cut++ {
					var chunks []string
					for p := tc.plain; len(p) > 0; p = p[min(size, len(p)):] {
						chunks = append(chunks, p[:min(size, len(p))])
					}
					chunks = append(chunks, tc.trick[:cut], tc.trick[cut:])
					out := screenRun(m, chunks...)
					if screen := render(out); strings.Contains(screen, tc.leak) {
						t.Fatalf("chunks of %d, trick cut at %d: screen shows %q:\n%s", size, cut, tc.leak, screen)
					}
					if len(out) != len(whole) {
						t.Fatalf("length changed: %q", out)
					}
				}
			}
		})
	}
}

// Another stream's write draws what is held first: a line that two streams
// print in sequence ("123-45-" on stdout, "6789" on stderr) is no text
// either stream's masker read, so its row must be read from the screen.
func TestScreenInterleaveDrawsHeld(t *testing.T) {
	m := newTestMasker(t, Config{})
	sc := m.NewScreen(80, 24)
	stdout, stderr := m.NewStream(), m.NewStream()
	var shown []byte
	var off int64
	write := func(st *Stream, s string) {
		b := st.Write([]byte(s))
		b = append(b, st.Flush()...)
		sc.Mask(b, off)
		off += int64(len(b))
		shown = append(shown, b...)
	}
	write(stdout, plainLines(250)+"123-45-")
	sc.Interleave()
	write(stderr, "6789\r\n"+plainLines(3))
	if screen := render(string(shown)); strings.Contains(screen, "123-45-6789") {
		t.Fatalf("screen shows the value:\n%s", screen)
	}
}

// linesOf is plain lines of about n bytes, each of width characters and
// ended by end: short ones (10) so that a read of a few hundred bytes holds
// about a screenful of lines, longer ones for large reads.
func linesOf(n, width int, end string) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "l%06d%s%s", i%1000000, strings.Repeat("x", width-7), end)
	}
	return b.String()
}

// heldNotPlain describes what a model holds back after its plain lines (and
// a line cut short that is plain so far), if anything: held output must be
// nothing else, or the check after the read would not see it drawn.
func heldNotPlain(tm *term) string {
	p := &tm.pend
	if len(p.b) == 0 {
		return ""
	}
	if _, run, open := tm.plainRun(p.b[p.start:]); p.start+run != len(p.b) && !open {
		return fmt.Sprintf("held %q after the plain lines", p.b[p.start+run:][:min(80, len(p.b)-p.start-run)])
	}
	return ""
}

// A model size for the tests of reads after lines held: the small one on a
// pty (CR LF), the large one without (LF, returned by onlcr).
type heldModel struct {
	w, h  int
	onlcr bool
	end   string // what ends a line
}

var heldModels = []heldModel{{80, 24, false, "\r\n"}, {largeCols, largeRows, true, "\n"}}

// readPlan is one way of cutting output into reads: where each read ends
// (the last at the end of the output), and after which of them the model
// is compared.
type readPlan struct {
	ends, check []int
}

// compareReads feeds out to md in reads as each plan says, and after each
// read it checks asserts that what the model holds back is plain and that
// the model, once it draws it, shows what drawing out a byte at a time
// shows.
func compareReads(t *testing.T, md heldModel, out []byte, plans []readPlan, what string) {
	t.Helper()
	want := map[int]*term{}
	for _, pl := range plans {
		for _, e := range pl.check {
			want[e] = nil
		}
	}
	ref := newTerm(md.w, md.h)
	ref.onlcr = md.onlcr
	for i := range out {
		ref.draw(out[i:i+1], int64(i), 0, false)
		if _, ok := want[i+1]; ok {
			want[i+1] = settledCopy(ref)
		}
	}
	for _, pl := range plans {
		tm := newTerm(md.w, md.h)
		tm.onlcr = md.onlcr
		from, next := 0, 0
		for _, e := range pl.ends {
			tm.feed(out[from:e], int64(from))
			from = e
			for next < len(pl.check) && pl.check[next] < e {
				next++
			}
			if next == len(pl.check) || pl.check[next] != e {
				continue
			}
			if d := heldNotPlain(tm); d != "" {
				t.Fatalf("%dx%d, %s, reads ending at %v, %d bytes fed: %s", md.w, md.h, what, pl.ends, e, d)
			}
			if d := termDiff(settledCopy(tm), want[e]); d != "" {
				t.Fatalf("%dx%d, %s, reads ending at %v, %d bytes fed: %s", md.w, md.h, what, pl.ends, e, d)
			}
		}
	}
}

// heldThenTail is plain lines of about n bytes (of width characters) and a
// few short ones, tail, and more short lines; and where tail starts.
func heldThenTail(md heldModel, n, width int, tail string) ([]byte, int) {
	lines := linesOf(n, width, md.end) + "id 123-45-" + md.end + linesOf(30, 10, md.end)
	return []byte(lines + tail + linesOf(1000, 10, md.end)), len(lines)
}

// Plain lines in reads of one size, of fewer lines than the screen has
// rows, about as many and more, up to pendingMax bytes, either side of it
// and 100 KiB, then a tail that is not plain lines (bulkTails), then more
// lines. The read that ends the
// lines ends at every position from 30 bytes before the tail (12 with large
// reads) to its end (a line, a CR LF, an escape or a UTF-8 sequence cut
// across reads; of a long tail, its first 40 bytes and its last 8), or half
// a read or a read before it, so that the tail comes after a long plain run
// in the same read. The model is compared after the reads either side of
// that boundary and the last.
func TestHeldThenReadAtEveryCut(t *testing.T) {
	for _, md := range heldModels {
		line := 10 + len(md.end)
		sizes := []int{line * md.h / 2, line*(md.h-1) + 3, line * md.h, line*(md.h+1) + 5, pendingMax - 1, pendingMax, pendingMax + 1, 100 << 10}
		for ti, tail := range bulkTails {
			for _, size := range sizes {
				width, before := 10, 30 // short lines, the last 30 bytes
				if size > 4096 {
					width, before = 70, 12
				}
				out, at := heldThenTail(md, size+1500, width, tail)
				cuts := []int{at - size/2, at - size + 1}
				for c := at - before; c <= at+len(tail); c++ {
					if c <= at+40 || c >= at+len(tail)-8 { // a long tail: its start and its end
						cuts = append(cuts, c)
					}
				}
				var plans []readPlan
				for _, cut := range cuts {
					var pl readPlan
					for e := cut % size; e < len(out); e += size {
						if e > 0 {
							pl.ends = append(pl.ends, e)
						}
						if e > 0 && e >= cut-size && e <= cut+size {
							pl.check = append(pl.check, e)
						}
					}
					pl.ends, pl.check = append(pl.ends, len(out)), append(pl.check, len(out))
					plans = append(plans, pl)
				}
				compareReads(t, md, out, plans, fmt.Sprintf("tail %d, reads of %d (tail at %d)", ti, size, at))
			}
		}
	}
}

// Lines held, then a short read and the rest: the short read ends at every
// position after the boundary before it, itself at every position around
// the end of the lines and the start of the tail. A read may end just past
// the line end that completes the line held cut short, or inside it.
func TestHeldThenShortRead(t *testing.T) {
	for _, md := range heldModels {
		for ti, tail := range bulkTails {
			out, at := heldThenTail(md, 1500, 10, tail)
			var plans []readPlan
			for cut := at - 20; cut <= at+min(len(tail), 24); cut++ {
				for short := cut + 1; short <= cut+16; short++ {
					var pl readPlan
					for e := cut % 300; e < cut; e += 300 {
						if e > 0 {
							pl.ends = append(pl.ends, e)
						}
					}
					pl.ends = append(pl.ends, cut, short, len(out))
					pl.check = []int{short, len(out)}
					if short == cut+1 {
						pl.check = []int{cut, short, len(out)}
					}
					plans = append(plans, pl)
				}
			}
			compareReads(t, md, out, plans, fmt.Sprintf("tail %d (at %d)", ti, at))
		}
	}
}
