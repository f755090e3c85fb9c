package nulrun

import (
	"math/rand/v2"
	"testing"
)

// Words counts whole words of leading NULs, exactly: compared with a byte
// by byte count over runs of every length up to 100, with a non-NUL byte
// at every position after them (and none), from every offset.
func TestWordsCountsWholeWordsOfNUL(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for run := 0; run <= 100; run++ {
		for tail := 0; tail <= 40; tail++ {
			b := make([]byte, run+tail)
			if tail > 0 {
				b[run] = byte(1 + rng.IntN(255))
				for i := run + 1; i < len(b); i++ {
					b[i] = byte(rng.IntN(256))
				}
			}
			for off := 0; off <= len(b); off++ {
				lead := 0
				for lead < len(b)-off && b[off+lead] == 0 {
					lead++
				}
				if got, want := Words(b[off:]), lead-lead%8; got != want {
					t.Fatalf("run %d, tail %d, offset %d: Words = %d, want %d", run, tail, off, got, want)
				}
			}
		}
	}
}
