package bytescan

// Classes finds trigger bytes: bytes whose class, in a table of 256
// classes, has a bit that the byte before it lets count. This is the
// masker's skip over bytes that can start no value: a digit starts a
// number only at a word start, an '@' triggers anywhere.
type Classes struct {
	cls   [256]uint8 // the class of each byte; 0 for bytes that never trigger
	after [256]uint8 // by the byte before: the classes that count after it

	// vec reports whether after has the shape the vector code handles:
	// at most two distinct masks, so that the bytes before split into two
	// sets.
	vec bool
	nib nibbleTables
}

// NewClasses returns the Classes that report b[i] as a trigger when
// cls[b[i]]&after[b[i-1]] != 0. The tables are copied.
//
// The vector code handles after tables with at most two distinct values
// (the masker's: all classes, or those that need no word start after a
// letter or digit); with more, the scalar loop serves them.
func NewClasses(cls, after *[256]uint8) *Classes {
	c := &Classes{cls: *cls, after: *after}
	m0 := after[0]
	m1, two := m0, false
	c.vec = true
	for p := range after {
		switch v := after[p]; {
		case v == m0:
		case !two:
			m1, two = v, true
			fallthrough
		case v == m1:
			c.nib.word.add(byte(p))
		default:
			c.vec = false
		}
	}
	for b := range cls {
		if cls[b]&m0 != 0 {
			c.nib.other.add(byte(b))
		}
		if cls[b]&m1 != 0 {
			c.nib.inWord.add(byte(b))
		}
	}
	return c
}

// IndexTrigger returns the index of the first trigger in b, or len(b) if
// there is none: the first i with cls[b[i]]&after[b[i-1]] != 0, where the
// byte before b[0] is before. A caller that walks from trigger to trigger
// keeps a Cursor instead, which looks at each byte once.
func (c *Classes) IndexTrigger(b []byte, before byte) int {
	// The first bytes one at a time: a trigger a few bytes away (terminal
	// output) costs less found so than by classifying a block.
	n := min(len(b), shortTail)
	if k := c.scan(b, 0, n, before); k < n || n == len(b) {
		return k
	}
	cur := c.Cursor(b, before)
	return cur.Next(n)
}

// TriggerMask reports the triggers among b[i:i+n] as the bits of mask, bit
// k for b[i+k], for the n >= 1 it returns (at most 64 and len(b)-i): the
// vector code looks at 64 bytes at once, the scalar loop stops after the
// first trigger. The byte before b[0] is before. It requires i < len(b).
func (c *Classes) TriggerMask(b []byte, i int, before byte) (mask uint64, n int) {
	if vector && c.vec && len(b)-i >= shortTail {
		if i >= 1 && len(b)-i >= blockSize {
			return triggerMaskAVX2(&c.nib, b, i), blockSize
		}
		// At either end of b: the bytes, and the one before them, copied
		// into a block the vector code can read whole.
		var blk [1 + blockSize]byte
		blk[0] = before
		if i >= 1 {
			blk[0] = b[i-1]
		}
		n = copy(blk[1:], b[i:])
		return triggerMaskAVX2(&c.nib, blk[:], 1) & (1<<n - 1), n
	}
	if i >= 1 {
		before = b[i-1]
	}
	end := min(len(b), i+blockSize)
	if k := c.scan(b, i, end, before); k < end {
		return 1 << (k - i), k - i + 1
	}
	return 0, end - i
}

// scan returns the index of the first trigger in b[i:end], or end, one
// byte at a time, b[i-1] being before.
func (c *Classes) scan(b []byte, i, end int, before byte) int {
	for ; i < end; i++ {
		if c.cls[b[i]]&c.after[before] != 0 {
			return i
		}
		before = b[i]
	}
	return end
}

const (
	// blockSize is the bytes the vector code looks at in one call.
	blockSize = 64
	// shortTail is the fewest bytes at the end of a slice worth a copy
	// for the vector code; fewer (a keystroke's echo) are looked at one
	// at a time.
	shortTail = 16
)

// Vectorized reports whether the vector code runs on this machine. Without
// it every function here is a loop over bytes, and a caller that only
// wants to rule out rare bytes early may do better with a test of its own.
func Vectorized() bool { return vector }
