//go:build !purego

package bytescan

import "golang.org/x/sys/cpu"

// vector reports whether the AVX2 code runs. Tests switch it off to run
// the scalar code on the same inputs.
var vector = cpu.X86.HasAVX2

// triggerMaskAVX2 returns the triggers among b[i:i+64] (see
// Classes.TriggerMask), bit k for b[i+k]. It reads b[i-1:i+64], which the
// caller makes sure is inside b.
//
//go:noescape
func triggerMaskAVX2(t *nibbleTables, b []byte, i int) uint64

// indexOutsideAVX2 returns the index of the first byte of b that is below
// lo as a signed byte (so every byte >= 0x80 counts), or equal to x or y,
// looking at whole 32-byte blocks only: if it finds none it returns the
// start of the first block that does not fit.
//
//go:noescape
func indexOutsideAVX2(b []byte, lo, x, y byte) int
