package bytescan

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The definition of IndexUnplainJSON, byte by byte.
func unplainJSONDef(b []byte) int {
	for i, c := range b {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return i
		}
	}
	return len(b)
}

var outsideFuncs = []struct {
	name     string
	f, def   func([]byte) int
	boundary []byte // bytes next to the edges of the set
}{
	{"IndexUnplainJSON", IndexUnplainJSON, unplainJSONDef, []byte{0, 0x1f, 0x20, '!', '"', '#', '[', '\\', ']', 0x7e, 0x7f, 0x80, 0xff}},
}

func checkOutside(t *testing.T, name string, f, def func([]byte) int, b []byte) {
	t.Helper()
	if got, want := f(b), def(b); got != want {
		t.Fatalf("%s(%q) = %d, want %d", name, b, got, want)
	}
}

// Plain text and random text with bytes near the set's edges, at every
// alignment, with lengths up to 200; and every byte value at every
// position of plain text, at five alignments.
func TestIndexOutside(t *testing.T) {
	eachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		buf := make([]byte, 256)
		for _, fn := range outsideFuncs {
			for align := range 32 {
				for n := 0; n <= 200; n++ {
					b := buf[align : align+n]
					for i := range b {
						b[i] = 'a' + byte(i%26)
					}
					checkOutside(t, fn.name, fn.f, fn.def, b)
					for i := range b {
						b[i] = fn.boundary[rng.IntN(len(fn.boundary))]
						if rng.IntN(4) > 0 {
							b[i] = ' ' + byte(rng.IntN(95))
						}
					}
					checkOutside(t, fn.name, fn.f, fn.def, b)
				}
				if align%8 != 0 && align != 31 {
					continue
				}
				b := buf[align : align+100]
				for k := range b {
					for i := range b {
						b[i] = 'x'
					}
					for c := range 256 {
						b[k] = byte(c)
						checkOutside(t, fn.name, fn.f, fn.def, b)
						checkOutside(t, fn.name, fn.f, fn.def, b[:k+1])
					}
				}
			}
		}
	})
}

func FuzzIndexOutside(f *testing.F) {
	f.Add([]byte(`{"a": "b\\c", "d": "\u00e9"} plain text that runs past a block of thirty-two`))
	f.Add([]byte("\x1b[1mbold\x1b[0m and \xc3\xa9 and \x7f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		eachImpl(t, func(t *testing.T) {
			for _, fn := range outsideFuncs {
				for i := range min(len(b), 40) {
					checkOutside(t, fmt.Sprint(fn.name, " from ", i), fn.f, fn.def, b[i:])
				}
			}
		})
	})
}
