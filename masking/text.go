package masking

// needMore is the panic value text.at uses when a recognizer reads past the
// bytes received so far. Stream.run recovers it and keeps the candidate
// pending. Because every read goes through text.at, a recognizer that
// finishes without this panic read only bytes that are already final, so its
// answer cannot change when more input arrives: that is what makes the
// output independent of how the stream was chunked.
type needMore struct{}

// text is a recognizer's view of the visible text of a stream: the bytes of
// printable characters and control characters, with escape sequences removed
// (or replaced by a newline when they move the cursor).
type text struct {
	b   []byte
	eof bool // reading past the end yields 0 (a boundary) instead of needMore
}

// at returns the byte at i. Before the start of the stream it returns 0,
// which every recognizer treats as a boundary; past the end it returns 0 if
// the stream ended and panics with needMore otherwise.
func (t *text) at(i int) byte {
	if uint(i) < uint(len(t.b)) {
		return t.b[i]
	}
	if i < 0 || t.eof {
		return 0
	}
	panic(needMore{})
}

// lb returns b[i], or 0 for a negative index (the start of the stream).
func lb(b []byte, i int) byte {
	if i < 0 {
		return 0
	}
	return b[i]
}

// Byte classes shared by the recognizers.
const (
	kDigit uint8 = 1 << iota
	kUpper
	kLower
	kLocal  // may appear in the local part of an e-mail address
	kDomain // may appear in a domain name
	kHex    // hexadecimal digit
	kDelim  // ends a token for pattern recognizers
)

var kinds = func() (k [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		k[c] |= kDigit | kLocal | kDomain | kHex
	}
	for c := 'a'; c <= 'z'; c++ {
		k[c] |= kLower | kLocal | kDomain
		k[c-'a'+'A'] |= kUpper | kLocal | kDomain
	}
	for c := 'a'; c <= 'f'; c++ {
		k[c] |= kHex
		k[c-'a'+'A'] |= kHex
	}
	for _, c := range "._%+-" {
		k[c] |= kLocal
	}
	k['.'] |= kDomain
	k['-'] |= kDomain
	for c := 0; c <= ' '; c++ {
		k[c] |= kDelim
	}
	k[0x7f] |= kDelim
	for _, c := range "|,;\"'<>()[]{}`" {
		k[c] |= kDelim
	}
	return k
}()

var lowerTab = func() (l [256]byte) {
	for i := range l {
		l[i] = byte(i)
	}
	for c := 'A'; c <= 'Z'; c++ {
		l[c] = byte(c - 'A' + 'a')
	}
	return l
}()

func lower(c byte) byte     { return lowerTab[c] }
func isDigit(c byte) bool   { return c-'0' < 10 }
func isAlpha(c byte) bool   { return kinds[c]&(kUpper|kLower) != 0 }
func isAlnum(c byte) bool   { return kinds[c]&(kDigit|kUpper|kLower) != 0 }
func isDelim(c byte) bool   { return kinds[c]&kDelim != 0 }
func isWordish(c byte) bool { return isAlnum(c) || c == '_' }

// isGlue reports whether c joins two digit groups into one longer number
// ("1123-45-67890", "12:30", "1.2.3"). A comma does not: it is the field
// separator of CSV output ("Roe,123-45-6789,4539 1488 0343 6467"), where
// missing a value matters far more than masking a "1,000".
func isGlue(c byte) bool {
	switch c {
	case '-', '.', '/', ':', ' ':
		return true
	}
	return false
}

// digits reports whether t holds n decimal digits from i.
func digits(t *text, i, n int) bool {
	for k := 0; k < n; k++ {
		if !isDigit(t.at(i + k)) {
			return false
		}
	}
	return true
}

// num reads up to max digits at i and returns their value and count; a count
// of max+1 means the run of digits is longer than max.
func num(t *text, i, max int) (v, n int) {
	for n <= max {
		c := t.at(i + n)
		if !isDigit(c) {
			return v, n
		}
		v = v*10 + int(c-'0')
		n++
	}
	return v, n
}

// rightFree reports whether a match ending before e stands alone: not
// followed by a letter or digit, nor glued to more digits by a separator.
// A space followed by digits is tolerated unless the match itself uses
// spaces as separators ("555 123 4567 12" is not a phone number).
func rightFree(t *text, e int, spaceSep bool) bool {
	c := t.at(e)
	if isWordish(c) {
		return false
	}
	if isGlue(c) && isDigit(t.at(e+1)) {
		return c == ' ' && !spaceSep
	}
	return true
}
