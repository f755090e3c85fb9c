package masking

import (
	"strings"
	"testing"
)

// Scrolling the whole screen slides the rows over one buffer and moves them
// back to its start at its end: no allocation per pass, and no row that
// scrolled off kept alive by a slot of the buffer outside the window. On
// the main screen and on the alternate one, and back on the main one.
func TestScrollReusesRowBuffer(t *testing.T) {
	for _, setup := range []string{"", "\x1b[?1049h", "\x1b[?1049h\r\n\x1b[?1049l"} {
		tm := newTerm(80, 24)
		tm.feed([]byte(setup), 0)
		for range 3 * scrollBuf * tm.h {
			tm.lineFeed() // warm up: the buffer, and rows to reuse
		}
		allocs := testing.AllocsPerRun(10, func() {
			for range 2 * scrollBuf * tm.h {
				tm.lineFeed()
			}
		})
		if allocs != 0 {
			t.Errorf("setup %q: %v allocations per %d line feeds", setup, allocs, 2*scrollBuf*tm.h)
		}
		start := -1
		for i := range tm.rowBuf {
			if &tm.rowBuf[i] == &tm.rows[0] {
				start = i
			}
		}
		if start < 0 {
			t.Fatalf("setup %q: the rows are not a window of rowBuf", setup)
		}
		for i, r := range tm.rowBuf {
			if (r != nil) != (i >= start && i < start+tm.h) {
				t.Fatalf("setup %q: slot %d of the buffer holds %v, window at %d", setup, i, r, start)
			}
		}
	}
}

// What scrolls keeps its place while the window moves back to the start of
// the buffer: lines printed over several passes read back in order.
func TestScrollKeepsRowsInOrder(t *testing.T) {
	tm := newTerm(20, 5)
	tm.onlcr = true
	var b strings.Builder
	for i := range 10 * scrollBuf * tm.h {
		b.WriteString(strings.Repeat(string(rune('a'+i%26)), 3) + "\n")
	}
	tm.feed([]byte(b.String()), 0)
	tm.settle()
	n := 10 * scrollBuf * tm.h
	for y := range tm.h - 1 {
		want := rune('a' + (n-(tm.h-1)+y)%26)
		if got := tm.rows[y].cells[0].ch; got != want {
			t.Fatalf("row %d starts with %q, want %q", y, got, want)
		}
	}
}
