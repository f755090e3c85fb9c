//go:build !purego

package bytescan

import "golang.org/x/sys/cpu"

// vector reports whether the AVX2 code runs. Tests switch it off to run
// the scalar code on the same inputs.
var vector = cpu.X86.HasAVX2

// indexTriggerAVX2 returns the index of the first trigger in b at or after
// from (see Classes.IndexTrigger), looking at whole 32-byte blocks only:
// if it finds none it returns the start of the first block that does not
// fit. from must be at least 1 (the block's previous bytes are read from
// b[from-1:]).
//
//go:noescape
func indexTriggerAVX2(t *nibbleTables, b []byte, from int) int

// indexOutsideAVX2 returns the index of the first byte of b that is below
// lo as a signed byte (so every byte >= 0x80 counts), or equal to x or y,
// looking at whole 32-byte blocks only: if it finds none it returns the
// start of the first block that does not fit.
//
//go:noescape
func indexOutsideAVX2(b []byte, lo, x, y byte) int
