package masking

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"unicode/utf8"
)

// markOnlyRunBytewise is markOnlyRun one byte at a time, as the model
// passed such runs before it took NULs eight at a time.
func markOnlyRunBytewise(b []byte) int {
	i := 0
	for i < len(b) && markOnly[b[i]] {
		i++
	}
	return i
}

// TestMarkOnlyRun compares markOnlyRun with the bytewise loop from every
// offset of inputs made of NUL runs of every length around a word, other
// controls that show nothing, and bytes that end a run (text, line
// feeds, ESC) between them.
func TestMarkOnlyRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 1))
	others := []byte{0x0e, 0x0f, 0x7f, 0x01, 'a', '\n', 0x1b, 0x80}
	for range 2000 {
		var b []byte
		for len(b) < 100 {
			if rng.IntN(2) == 0 {
				b = append(b, make([]byte, rng.IntN(20))...)
			} else {
				b = append(b, others[rng.IntN(len(others))])
			}
		}
		for i := range b {
			if got, want := markOnlyRun(b[i:]), markOnlyRunBytewise(b[i:]); got != want {
				t.Fatalf("markOnlyRun(%q) = %d, want %d", b[i:], got, want)
			}
		}
	}
}

// screenMaskPattern masks in with a Screen alone, cut into the chunks
// cuts gives, and returns which bytes it masked and its findings.
func screenMaskPattern(m *Masker, in []byte, cuts []int) ([]bool, []Finding) {
	sc := m.NewScreen(0, 0)
	out := append([]byte(nil), in...)
	var found []Finding
	off := 0
	for _, n := range cuts {
		end := min(off+n, len(out))
		found = append(found, sc.Mask(out[off:end], int64(off))...)
		off = end
	}
	found = append(found, sc.Mask(out[off:], int64(off))...)
	masked := make([]bool, len(in))
	for i := range in {
		masked[i] = out[i] != in[i]
	}
	return masked, found
}

// TestScreenNULRunsAsBytewise: the attacker splits a value with a run of
// NUL bytes (which the terminal ignores), of any length and at any
// offset, and cuts the output into reads anywhere. The model must mask
// exactly what it masks when the run is DEL bytes, which it passes one at
// a time as it always did: the two bytes do the same on the screen.
func TestScreenNULRunsAsBytewise(t *testing.T) {
	m := newTestMasker(t, Config{})
	values := []string{"123-45-6789", "jane.doe@example.org", "4111 1111 1111 1111", "(555) 234-5678"}
	runs := []int{1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000}
	cutSizes := []int{1, 3, 7, 8, 13, 64, 4096}
	for _, v := range values {
		for k := 1; k < len(v); k++ {
			for _, n := range runs {
				in := []byte("id " + v[:k] + string(make([]byte, n)) + v[k:] + "\r\n")
				for _, c := range cutSizes {
					masked, _ := screenMaskPattern(m, in, cuts(len(in), c))
					if !slices.Contains(masked, true) {
						t.Errorf("%q in reads of %d: nothing masked", in, c)
					}
					checkNULAsDEL(t, m, in, cuts(len(in), c))
				}
			}
		}
	}
}

// TestScreenNULRunsRandom does the same on random output: text, escape
// sequences, values and NUL runs (mixed with DEL) between them, in random
// reads.
func TestScreenNULRunsRandom(t *testing.T) {
	m := newTestMasker(t, Config{})
	rng := rand.New(rand.NewPCG(15, 2))
	pieces := []string{"123-45-", "6789", "jane.doe@", "example.org", "\x1b[8G", "\x1b[2;1H", "\x1b[31m", "\x1b[0m",
		"\r\n", "\r", "\b", "\t", "x", "  ", "données", "\x1b]0;title\a", "\x1b[K", "4111 1111 ", "1111 1111"}
	for iter := range 3000 {
		var in []byte
		for len(in) < 300 {
			if rng.IntN(3) == 0 {
				run := make([]byte, rng.IntN(40))
				if len(run) > 0 && rng.IntN(4) == 0 {
					run[rng.IntN(len(run))] = 0x7f
				}
				in = append(in, run...)
			} else {
				in = append(in, pieces[rng.IntN(len(pieces))]...)
			}
		}
		var cs []int
		for n := 0; n < len(in); {
			c := 1 + rng.IntN(64)
			cs = append(cs, c)
			n += c
		}
		if !checkNULAsDEL(t, m, in, cs) {
			t.Fatalf("iteration %d", iter)
		}
	}
}

// cuts returns the chunk sizes that cut n bytes into reads of size c.
func cuts(n, c int) []int {
	var cs []int
	for ; n > 0; n -= c {
		cs = append(cs, c)
	}
	return cs
}

// checkNULAsDEL reports whether in, with its NUL bytes, is masked as it is
// with DEL in their place.
func checkNULAsDEL(t *testing.T, m *Masker, in []byte, cs []int) bool {
	t.Helper()
	del := bytes.ReplaceAll(in, []byte{0}, []byte{0x7f})
	gotMasked, gotFound := screenMaskPattern(m, in, cs)
	wantMasked, wantFound := screenMaskPattern(m, del, cs)
	if fmt.Sprint(gotMasked) != fmt.Sprint(wantMasked) || fmt.Sprint(gotFound) != fmt.Sprint(wantFound) {
		t.Errorf("input %q in reads %v:\nNUL masked %v %v\nDEL masked %v %v", in, cs, gotMasked, gotFound, wantMasked, wantFound)
		return false
	}
	return true
}

// TestUTF8Lead ties the model's shortcut for a byte that starts no UTF-8
// sequence to what the utf8 package decodes: a byte of 0x80 or above is
// not a lead exactly when it is complete alone and decodes to RuneError,
// one byte, which the model never prints.
func TestUTF8Lead(t *testing.T) {
	for c := 0x80; c < 256; c++ {
		b := []byte{byte(c)}
		r, n := utf8.DecodeRune(b)
		alone := utf8.FullRune(b) && r == utf8.RuneError && n == 1
		if utf8Lead[c] == alone {
			t.Errorf("utf8Lead[%#x] = %v, but FullRune %v, DecodeRune %q %d", c, utf8Lead[c], utf8.FullRune(b), r, n)
		}
	}
}

// BenchmarkScreenBinary is the screen model of a stream without a pty on
// binary output (cat of a compressed file): random bytes in the 256 KiB
// reads of a bulk transfer, one model for the whole stream.
func BenchmarkScreenBinary(b *testing.B) {
	m := newTestMasker(b, Config{})
	rng := rand.New(rand.NewPCG(15, 4))
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	sc := m.NewScreen(0, 0)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var out []byte
	var off int64
	start := cpuTime()
	for b.Loop() {
		for i := 0; i < len(data); i += 256 << 10 {
			out = append(out[:0], data[i:i+256<<10]...)
			sc.Mask(out, off)
			off += int64(len(out))
		}
	}
	reportCPU(b, start)
}
