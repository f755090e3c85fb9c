// Package bytescan finds the first byte of interest in a slice, 32 bytes at
// a time with AVX2 on amd64, one byte at a time elsewhere, for the output
// paths that pass over long runs of bytes which need no work: the masker's
// scan for trigger bytes (IndexTrigger), the recorder's JSON escaper
// (IndexUnplainJSON) and the screen model (IndexNotPrintable).
//
// Every function has a scalar definition, which is also the implementation
// on other architectures, with the purego build tag, and on processors
// without AVX2; the vector code returns exactly what it returns. The vector
// code reads only inside the slice: it processes whole 32-byte blocks while
// they fit and leaves the tail to the scalar code.
package bytescan
