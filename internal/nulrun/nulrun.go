// Package nulrun measures runs of NUL bytes a machine word at a time, for
// the output paths that pass over them in bulk (`/dev/zero` output): the
// screen model, which draws nothing for a NUL, and the recorder's JSON
// escaper, which writes each as \u0000.
package nulrun

import "encoding/binary"

// Words returns the number of NUL bytes that b starts with, counted in
// whole words of eight (four words at a time, then one): a multiple of 8,
// at most len(b). The caller looks at the bytes past it one at a time.
func Words(b []byte) int {
	i := 0
	for ; i+32 <= len(b); i += 32 {
		w := b[i : i+32]
		if binary.LittleEndian.Uint64(w)|binary.LittleEndian.Uint64(w[8:])|
			binary.LittleEndian.Uint64(w[16:])|binary.LittleEndian.Uint64(w[24:]) != 0 {
			break
		}
	}
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:]) != 0 {
			break
		}
	}
	return i
}
