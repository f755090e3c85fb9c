// Package bytescan finds the bytes of interest in a slice, 32 or 64 bytes
// at a time with AVX2 on amd64, one byte at a time elsewhere, for the
// output paths that pass over long runs of bytes which need no work: the
// masker's scan for trigger bytes (Classes, whose Cursor walks them) and
// the recorder's JSON escaper (IndexUnplainJSON).
//
// Every function has a scalar definition, which is also the implementation
// on other architectures, with the purego build tag, and on processors
// without AVX2; the vector code returns exactly what it returns. The vector
// code reads only inside the slice: it reads whole blocks while they fit,
// and leaves the rest to the scalar code or to a copy of it in a block of
// its own.
package bytescan
