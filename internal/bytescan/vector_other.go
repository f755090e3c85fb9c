//go:build !amd64 || purego

package bytescan

// vector is false: there is no vector code for this architecture or build.
var vector = false

// triggerMaskAVX2 does nothing here; it is never called while vector is
// false.
func triggerMaskAVX2(t *nibbleTables, b []byte, i int) uint64 { return 0 }

// indexOutsideAVX2 does nothing here; it is never called while vector is
// false.
func indexOutsideAVX2(b []byte, lo, x, y byte) int { return 0 }
