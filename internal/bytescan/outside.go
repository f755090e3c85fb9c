package bytescan

// IndexUnplainJSON returns the index of the first byte of b that a JSON
// string does not hold as it is, or that starts a UTF-8 sequence: a
// control byte (< 0x20), '"', '\\' or a byte >= 0x80; len(b) if there is
// none.
func IndexUnplainJSON(b []byte) int {
	return indexOutside(b, &unplainJSON, '"', '\\')
}

// indexOutside returns the index of the first byte of b in the set, which
// holds the bytes below 0x20, every byte >= 0x80, x and y.
func indexOutside(b []byte, set *[256]bool, x, y byte) int {
	i := 0
	if vector && len(b) >= blockSize {
		i = indexOutsideAVX2(b, 0x20, x, y)
	}
	for ; i < len(b); i++ {
		if set[b[i]] {
			return i
		}
	}
	return len(b)
}

var unplainJSON = outsideSet('"', '\\')

func outsideSet(x, y byte) (t [256]bool) {
	for c := range t {
		t[c] = c < 0x20 || c >= 0x80 || c == int(x) || c == int(y)
	}
	return t
}
