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
// letter or digit); with more, IndexTrigger runs the scalar loop.
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
// byte before b[0] is before.
func (c *Classes) IndexTrigger(b []byte, before byte) int {
	i := 0
	if vector && c.vec && len(b) >= scalarLead+blockSize {
		// In terminal output the next trigger is a few bytes away more
		// often than not: look at the first bytes without the call.
		for ; i < scalarLead; i++ {
			if c.cls[b[i]]&c.after[before] != 0 {
				return i
			}
			before = b[i]
		}
		i = indexTriggerAVX2(&c.nib, b, i)
		before = b[i-1]
	}
	for ; i < len(b); i++ {
		if c.cls[b[i]]&c.after[before] != 0 {
			return i
		}
		before = b[i]
	}
	return len(b)
}

const (
	// blockSize is the bytes the vector code looks at in one step.
	blockSize = 32
	// scalarLead is the bytes IndexTrigger looks at one at a time before
	// it calls the vector code.
	scalarLead = 8
)
