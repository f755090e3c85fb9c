package masking

import "bytes"

// Plain lines across chunks. skipPlain passes over the plain lines of a
// chunk that scroll off within it, but the last screenful of them must be
// drawn if the chunk ends there: the next chunk might move the cursor back
// over those rows. When the next chunks are more plain lines, those rows
// scroll off unread after all, and drawing them was wasted; with reads
// shorter than a screenful of lines (4 KiB reads of a log, on the large
// model's 200 rows) that was every line. So plain lines that end a chunk,
// from a fresh row (atFreshRow) on, are not drawn at once: they are held
// back as bytes (the last line may be cut short by the end of the chunk,
// plain so far), and the oldest of them are dropped as soon as a
// screenful of newer ones follows: their rows would have scrolled off
// unread. What is held is drawn, with the stream offsets it came with,
// before anything else happens to the model: when a chunk brings anything
// but plain lines (then what it brings is drawn after it), or when another
// stream is about to write (Screen.Interleave). Until then nothing on the
// screen changes, so the checks in between read what they would have
// read: the rows these lines draw are not tricky, the rows they would have
// scrolled off were read by the check after the chunk that changed them,
// and rows scroll off whole, so a row is never half drawn.

// When a read comes after lines held, it first completes the line the
// last read cut short, if any (up to its first line feed). If that line is
// plain and the plain lines of the read from there take the screen's
// height or more, the held lines would scroll off during them, unread: they
// are dropped, undrawn, and the read goes on from the fresh row they
// started at as draw would take it (bulk output in large reads: each read
// draws only its last screenful, or holds it). The checks read what they
// would have read: the rows on the screen before the held lines scroll off
// during the read's lines instead, and those the held lines would have
// drawn are not tricky. If the read's lines take fewer rows and it ends
// with them, they are held too; otherwise what is held is drawn, and then
// the read.

// pendingMax is the most of a read that is held back (the read's last
// screenful of lines after lines held, or a line cut short), the most of a
// line cut short that is held across reads, and the capacity of a held-back
// buffer kept for reuse after it is drawn. A read of more plain lines than
// that is drawn: it passes over its own lines that scroll off within it,
// and only its last screenful is drawn for nothing, a small part of it;
// copying it all to hold it would cost more.
const pendingMax = 64 << 10

// pending is the output held back: a copy of its bytes, the complete plain
// lines in them and how many rows each takes; after the last line, the
// start of a line cut short by the end of the last chunk.
type pending struct {
	b     []byte // the bytes held; before start: lines dropped
	off   int64  // stream offset of b[0]
	start int    // where the first line kept starts in b
	lines []plainLine
	first int // index in lines of the first line kept
	rows  int // rows of lines[first:]
	// dropped says lines were dropped: holding saved drawing them.
	dropped bool
	spare   []byte // a buffer for the next hold while b is drawn
}

// feed runs b, which starts at stream offset off, through the model.
func (t *term) feed(b []byte, off int64) {
	p := &t.pend
	if len(p.b) == 0 {
		t.draw(b, off, 0, true)
		return
	}
	// More output after what is held: a line cut short goes on in b, up to
	// b's first line feed, which ends it if it is plain.
	tail := p.start
	if len(p.lines) > 0 {
		tail = p.lines[len(p.lines)-1].end
	}
	k := 0
	if tail < len(p.b) {
		k = bytes.IndexByte(b, '\n') + 1
		if k == 0 {
			k = len(b)
		}
		if len(p.b)-tail+k > pendingMax {
			// A line that goes on and on (base64 -w0): each read scans
			// the line cut short again from its start, so it is not held
			// past pendingMax bytes.
			t.settle()
			t.draw(b, off, 0, true)
			return
		}
		p.b = append(p.b, b[:k]...)
		if _, run, open := t.plainRun(p.b[tail:]); tail+run < len(p.b) && !open {
			// Not a plain line: draw what is held, and then the rest of b.
			t.heldRunEnded(p.off + int64(tail+run))
			t.settle()
			t.draw(b, off, k, true)
			return
		}
		t.heldLines(t.plain, tail)
		if k == len(b) {
			return // b went to the line cut short, which is held
		}
	}
	// The rest of b starts at the fresh row after the lines held.
	skip, run, open := t.plainRun(b[k:])
	if skip > 0 || plainRows(t.plain) >= t.h {
		// Its lines scroll all that is held off unread.
		t.dropHeld()
		if i, held := t.passPlain(b, off, k, skip, run, open, true); held {
			p.dropped = true // the lines held before were not drawn either
		} else {
			t.draw(b, off, i, true)
		}
		return
	}
	if (k+run == len(b) || open) && len(b)-k <= pendingMax {
		from := len(p.b)
		p.b = append(p.b, b[k:]...)
		t.heldLines(t.plain, from)
		return
	}
	// The run ends in b (or b is too large to hold): draw what is held,
	// and then the rest of b, without scanning the run again.
	t.heldRunEnded(off + int64(k+run))
	t.settle()
	t.draw(b, off, k, true)
}

// heldRunEnded sets when plainRun is tried next, after a run of plain
// lines that were held that ends at stream offset end: from there on, as
// the run was scanned to there already. A hold that dropped no line saved
// nothing, and pauses the next attempt as a run too short to skip does
// (see skipPlain).
func (t *term) heldRunEnded(end int64) {
	if t.pend.dropped {
		t.plainPause, t.plainNext = 0, end
		return
	}
	t.plainPause = min(max(2*t.plainPause, plainPauseMin), plainPauseMax)
	t.plainNext = end + int64(t.plainPause)
}

// holdBack holds b, plain lines at stream offset off from a fresh row on,
// whose lines plainRun found (t.plain), instead of drawing it; its first
// skip bytes are lines that scroll off within it, and are dropped at once.
func (t *term) holdBack(b []byte, off int64, skip int) {
	p := &t.pend
	p.b, p.spare = append(p.spare[:0], b[skip:]...), nil
	p.off, p.start, p.lines, p.first, p.rows, p.dropped = off+int64(skip), 0, p.lines[:0], 0, 0, skip > 0
	k := 0
	for k < len(t.plain) && t.plain[k].end <= skip {
		k++
	}
	t.heldLines(t.plain[k:], -skip)
}

// heldLines adds lines that plainRun found in p.b[from:] to those held, and
// drops the oldest lines that a screenful of newer ones follows.
func (t *term) heldLines(lines []plainLine, from int) {
	p := &t.pend
	for _, l := range lines {
		p.lines = append(p.lines, plainLine{end: from + l.end, rows: l.rows})
		p.rows += l.rows
	}
	for p.first < len(p.lines) && p.rows-p.lines[p.first].rows >= t.h {
		p.rows -= p.lines[p.first].rows
		p.start = p.lines[p.first].end
		p.first++
		p.dropped = true
	}
	if p.start > 4096 && p.start > len(p.b)/2 {
		// Move what is kept to the front, so that the buffers do not
		// grow while a stream of plain lines lasts.
		cut := p.start
		p.b = p.b[:copy(p.b, p.b[cut:])]
		p.off += int64(cut)
		p.start = 0
		p.lines = p.lines[:copy(p.lines, p.lines[p.first:])]
		p.first = 0
		for i := range p.lines {
			p.lines[i].end -= cut
		}
	}
}

// settle draws the output held back, if any, to the end.
func (t *term) settle() {
	p := &t.pend
	if len(p.b) == 0 {
		return
	}
	b, off, start := p.b, p.off, p.start
	t.dropHeld()
	t.draw(b, off, start, false)
}

// dropHeld forgets the output held back, undrawn, and keeps its buffer for
// the next hold.
func (t *term) dropHeld() {
	p := &t.pend
	if cap(p.b) <= pendingMax {
		p.spare = p.b[:0]
	}
	p.b, p.lines, p.first, p.rows, p.start = nil, p.lines[:0], 0, 0, 0
}
