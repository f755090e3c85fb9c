package bytescan

import "math/bits"

// A Cursor walks the triggers of one slice in order, keeping the mask of
// the last block the vector code classified, so that most triggers are
// found without a call: the masker's scan stops at every few bytes of
// terminal output.
type Cursor struct {
	c      *Classes
	b      []byte
	before byte   // the byte before b[0]
	at, n  int    // mask holds the triggers of b[at:at+n]
	mask   uint64 // bit k for b[at+k]
}

// Cursor returns a Cursor over b, the byte before b[0] being before.
func (c *Classes) Cursor(b []byte, before byte) Cursor {
	return Cursor{c: c, b: b, before: before}
}

// Next returns the index of the first trigger in b at or after i, or
// len(b) if there is none.
func (t *Cursor) Next(i int) int {
	k := uint(i - t.at)
	if m := t.mask >> (k & 63); k < uint(t.n) && m != 0 {
		return i + bits.TrailingZeros64(m)
	}
	return t.next(i)
}

// next is Next past the block in hand: it classifies blocks from i on
// until one holds a trigger. Without the vector code, it looks for the
// next trigger byte by byte and keeps it as a block of one.
func (t *Cursor) next(i int) int {
	if !vector || !t.c.vec {
		before := t.before
		if i >= 1 {
			before = t.b[i-1]
		}
		i = t.c.scan(t.b, i, len(t.b), before)
		t.mask, t.at, t.n = 1, i, 1
		return i
	}
	for i < len(t.b) {
		t.mask, t.n = t.c.TriggerMask(t.b, i, t.before)
		t.at = i
		if t.mask != 0 {
			return i + bits.TrailingZeros64(t.mask)
		}
		i += t.n
	}
	return len(t.b)
}
