package masking

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

// pendingMax is the largest read that is held back after lines held, the
// most of a line cut short that is held, and the capacity of a held-back
// buffer kept for reuse after it is drawn. A larger read is drawn, after
// the lines held: it passes over its own lines that scroll off within it,
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
	// More output after what is held: the line cut short goes on in b.
	tail := p.start
	if len(p.lines) > 0 {
		tail = p.lines[len(p.lines)-1].end
	}
	if len(p.b)-tail+len(b) > pendingMax {
		// A large read, or a line that goes on and on (base64 -w0): each
		// read scans the line cut short again from its start, so it is
		// not held past pendingMax bytes.
		t.settle()
		t.draw(b, off, 0, true)
		return
	}
	p.b = append(p.b, b...)
	_, run, open := t.plainRun(p.b[tail:])
	// Where the run ends, in the stream: heldLines may move what is kept
	// to the front of p.b, and tail and run with it.
	ended, end := tail+run < len(p.b) && !open, p.off+int64(tail+run)
	t.heldLines(t.plain, tail)
	if ended {
		// The run ends in b: draw what is held and then b, as draw would,
		// without scanning the run again. A hold that dropped no line
		// saved nothing, and pauses the next attempt as a run too short
		// to skip does (see skipPlain).
		if p.dropped {
			t.plainPause, t.plainNext = 0, end
		} else {
			t.plainPause = min(max(2*t.plainPause, plainPauseMin), plainPauseMax)
			t.plainNext = end + int64(t.plainPause)
		}
		t.drawHeld(true)
	}
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
func (t *term) settle() { t.drawHeld(false) }

// drawHeld draws the output held back, if any. With mayHold, the plain
// lines at its end (after what ended the run) are held back again, in the
// spare buffer.
func (t *term) drawHeld(mayHold bool) {
	p := &t.pend
	if len(p.b) == 0 {
		return
	}
	b, off, start := p.b, p.off, p.start
	p.b, p.lines, p.first, p.rows, p.start = nil, p.lines[:0], 0, 0, 0
	t.draw(b, off, start, mayHold)
	if cap(b) <= pendingMax {
		p.spare = b[:0]
	}
}
