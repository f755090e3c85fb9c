//go:build !amd64 || purego

package bytescan

// vector is false: there is no vector code for this architecture or build.
var vector = false

// indexTriggerAVX2 does nothing here; it is never called while vector is
// false.
func indexTriggerAVX2(t *nibbleTables, b []byte, from int) int { return from }

// indexOutsideAVX2 does nothing here; it is never called while vector is
// false.
func indexOutsideAVX2(b []byte, lo, x, y byte) int { return 0 }
