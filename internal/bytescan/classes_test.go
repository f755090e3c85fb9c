package bytescan

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// eachImpl runs f with the vector code on (where the machine has it) and
// with the scalar code forced.
func eachImpl(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	impls := []bool{false}
	if vector {
		impls = append(impls, true)
	}
	saved := vector
	t.Cleanup(func() { vector = saved })
	for _, v := range impls {
		vector = v
		t.Run(fmt.Sprintf("vector=%v", v), f)
	}
	vector = saved
}

// indexTriggerDef is IndexTrigger's definition, byte by byte.
func indexTriggerDef(cls, after *[256]uint8, b []byte, before byte) int {
	for i, c := range b {
		if cls[c]&after[before] != 0 {
			return i
		}
		before = c
	}
	return len(b)
}

// masksAfterAlnum is the masker's after table: every class after a byte
// that is not a letter or digit, only keep after one.
func masksAfterAlnum(keep uint8) *[256]uint8 {
	var a [256]uint8
	for c := range a {
		a[c] = 0xff
		if '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
			a[c] = keep
		}
	}
	return &a
}

// randomTables returns a class table in which about density of the bytes
// (in 256ths) have a class, and an after table with two masks over a
// random word set, every byte value (>= 0x80 too) taking part.
func randomTables(rng *rand.Rand, density int) (cls, after *[256]uint8) {
	cls, after = new([256]uint8), new([256]uint8)
	m0, m1 := uint8(rng.Uint32()), uint8(rng.Uint32())
	if rng.IntN(2) == 0 {
		m0 = 0xff
	}
	for c := range cls {
		if rng.IntN(256) < density {
			cls[c] = uint8(1 << rng.IntN(8))
			if rng.IntN(4) == 0 {
				cls[c] |= uint8(rng.Uint32())
			}
		}
		after[c] = m0
		if rng.IntN(2) == 0 {
			after[c] = m1
		}
	}
	return cls, after
}

// quiet returns a byte that triggers after any byte, if cls has one.
func quiet(cls *[256]uint8) byte {
	for c := range cls {
		if cls[c] == 0 {
			return byte(c)
		}
	}
	return 0
}

func checkTrigger(t *testing.T, c *Classes, cls, after *[256]uint8, b []byte, before byte, what string) {
	t.Helper()
	if got, want := c.IndexTrigger(b, before), indexTriggerDef(cls, after, b, before); got != want {
		t.Fatalf("%s: IndexTrigger(%q, %q) = %d, want %d", what, b, before, got, want)
	}
}

// IndexTrigger agrees with its definition on random tables and text, at
// every alignment and every length up to 200.
func TestIndexTriggerRandom(t *testing.T) {
	eachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		buf := make([]byte, 256)
		for _, density := range []int{0, 1, 3, 10, 40, 128, 256} {
			cls, after := randomTables(rng, density)
			c := NewClasses(cls, after)
			for align := range 32 {
				for n := 0; n <= 200; n++ {
					b := buf[align : align+n]
					for i := range b {
						b[i] = byte(rng.Uint32())
					}
					checkTrigger(t, c, cls, after, b, byte(rng.Uint32()), fmt.Sprintf("density %d", density))
				}
			}
		}
	})
}

// A single trigger is found at every position, at every alignment, in
// text that is otherwise quiet; the first byte's depends on before.
func TestIndexTriggerAtEveryPosition(t *testing.T) {
	eachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		buf := make([]byte, 256)
		for round := range 3 {
			cls, after := randomTables(rng, 64)
			c := NewClasses(cls, after)
			q := quiet(cls)
			for align := range 32 {
				b := buf[align : align+200]
				for k := range b {
					for i := range b {
						b[i] = q
					}
					b[k] = byte(rng.Uint32())
					for _, before := range []byte{q, byte(rng.Uint32())} {
						checkTrigger(t, c, cls, after, b, before, fmt.Sprintf("round %d, align %d, at %d", round, align, k))
						checkTrigger(t, c, cls, after, b[:k+1], before, fmt.Sprintf("round %d, align %d, last %d", round, align, k))
					}
				}
			}
		}
	})
}

// Every pair of byte values (the byte before, the byte) decides alike at
// the first byte (the byte before being before), in the first bytes that
// IndexTrigger looks at one at a time, on either side of the edges of the
// vector code's 32-byte halves and 64-byte blocks after them (the first
// read in place, the last copied), and at the end.
func TestIndexTriggerEveryPair(t *testing.T) {
	eachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		cls0, after0 := randomTables(rng, 128)
		tables := [][2]*[256]uint8{{cls0, after0}}
		// The masker's shape: digits and some letters, '@' anywhere.
		var cls [256]uint8
		for _, ch := range "0123456789(+BCDFIMNPSTbcdfimnpst" {
			cls[ch] = 1
		}
		cls['@'] = 2
		tables = append(tables, [2]*[256]uint8{&cls, masksAfterAlnum(2)})
		buf := make([]byte, 256)
		for _, tb := range tables {
			cls, after := tb[0], tb[1]
			c := NewClasses(cls, after)
			q := quiet(cls)
			align := rng.IntN(32)
			b := buf[align : align+140]
			for i := range b {
				b[i] = q
			}
			for p := range 256 {
				for ch := range 256 {
					checkTrigger(t, c, cls, after, append(buf[:0:0], byte(ch), q), byte(p), "first byte")
					// The bytes around the pair are quiet: the first trigger
					// is the byte before, the byte or none.
					want := len(b)
					if cls[ch]&after[p] != 0 {
						want = 1
					}
					if cls[p]&after[q] != 0 {
						want = 0
					}
					for _, k := range []int{1, 15, 16, 17, 47, 48, 49, 79, 80, 81, 111, 112, 139} {
						b[k-1], b[k] = byte(p), byte(ch)
						if got := c.IndexTrigger(b, q); got != min(k-1+want, len(b)) {
							t.Fatalf("after %#x, %#x at %d: IndexTrigger = %d, want %d", p, ch, k, got, min(k-1+want, len(b)))
						}
						b[k-1], b[k] = q, q
					}
				}
			}
		}
	})
}

// An after table with more than two masks has no vector form: the scalar
// loop serves it.
func TestIndexTriggerManyMasks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cls, after := randomTables(rng, 128)
	for i := range after {
		after[i] = uint8(rng.Uint32())
	}
	c := NewClasses(cls, after)
	if c.vec {
		t.Fatal("an after table with many masks is taken for a vector one")
	}
	eachImpl(t, func(t *testing.T) {
		b := make([]byte, 300)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		for i := range b {
			checkTrigger(t, c, cls, after, b[i:], byte(i), "many masks")
		}
	})
}

// The byte sets hold exactly the bytes added to them.
func TestByteSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 100 {
		var s byteSet
		var in [256]bool
		for range rng.IntN(256) {
			c := byte(rng.Uint32())
			s.add(c)
			in[c] = true
		}
		for c := range 256 {
			if s.has(byte(c)) != in[c] {
				t.Fatalf("has(%#x) = %v, want %v", c, !in[c], in[c])
			}
		}
	}
}

func FuzzIndexTrigger(f *testing.F) {
	f.Add([]byte("SSN 123-45-6789, call (555) 010-9999"), byte(' '), uint64(1), uint8(40))
	f.Add([]byte("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo+/0123456789abcdefghijklmnopqrstuvwxyz+/"), byte('x'), uint64(2), uint8(10))
	f.Add(make([]byte, 100), byte(0), uint64(3), uint8(255))
	f.Add([]byte("\xff\xfe\x80\x81 tail"), byte(0x80), uint64(4), uint8(128))
	f.Fuzz(func(t *testing.T, b []byte, before byte, seed uint64, density uint8) {
		cls, after := randomTables(rand.New(rand.NewPCG(seed, 0)), int(density))
		c := NewClasses(cls, after)
		eachImpl(t, func(t *testing.T) {
			for i := range min(len(b), 40) {
				checkTrigger(t, c, cls, after, b[i:], before, "fuzz")
			}
		})
	})
}

// TriggerMask's bits are the triggers of the n bytes it reports on, from
// every index, n within its bounds.
func TestTriggerMask(t *testing.T) {
	eachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(17, 18))
		for _, density := range []int{2, 20, 128} {
			cls, after := randomTables(rng, density)
			c := NewClasses(cls, after)
			b := make([]byte, 300)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			before := byte(rng.Uint32())
			for i := range b {
				mask, n := c.TriggerMask(b, i, before)
				if n < 1 || n > 64 || n > len(b)-i {
					t.Fatalf("TriggerMask at %d of %d: n = %d", i, len(b), n)
				}
				if n < 64 && n < len(b)-i && mask>>(n-1) != 1 {
					t.Fatalf("TriggerMask at %d: stopped after %d bytes, not at a trigger (mask %#x)", i, n, mask)
				}
				prev := before
				if i > 0 {
					prev = b[i-1]
				}
				for k := range n {
					want := cls[b[i+k]]&after[prev] != 0
					if got := mask>>k&1 == 1; got != want {
						t.Fatalf("TriggerMask at %d, byte %d: %v, want %v", i, k, got, want)
					}
					prev = b[i+k]
				}
				if n < 64 && mask>>n != 0 {
					t.Fatalf("TriggerMask at %d: bits past n = %d: %#x", i, n, mask)
				}
			}
		}
	})
}

// A Cursor finds every trigger in order, also when the walk jumps ahead
// past some of them, and never reports one where there is none.
func TestCursorWalk(t *testing.T) {
	eachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(19, 20))
		for round := range 200 {
			cls, after := randomTables(rng, 1+rng.IntN(64))
			c := NewClasses(cls, after)
			b := make([]byte, rng.IntN(1000))
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			before := byte(rng.Uint32())
			cur := c.Cursor(b, before)
			for i := 0; i < len(b); i++ {
				if rng.IntN(8) == 0 {
					i += rng.IntN(100) // a run the caller passes over itself
					if i >= len(b) {
						break
					}
				}
				prev := before
				if i > 0 {
					prev = b[i-1]
				}
				want := i + indexTriggerDef(cls, after, b[i:], prev)
				if i = cur.Next(i); i != want {
					t.Fatalf("round %d: Next = %d, want %d", round, i, want)
				}
			}
		}
	})
}
