package masking

// Tables: a header that names a PHI field makes the values under it count
// as that field. When a context word is a whole field of a CSV/TSV header
// ("id,name,ssn"), a psql or mysql table header (" id | ssn ", "| id | ssn
// |") or similar, the column is remembered; a value that starts a field in
// that column on a later line has the context of the header, however far
// above it is ("123456789" under "ssn", "1980-01-02" under "dob"). JSON keys
// need nothing more: the key is a context word on the value's line.
//
// A table lasts until another header names the same field or tableSpan
// bytes of text pass without a value found in the column.

// tableSpan bounds how long a header counts without a value found under it.
const tableSpan = 1 << 20

type tableCol struct {
	rec    int
	sep    byte  // the field separator: ',', '\t', '|' or ';'
	col    int   // the field index under the header
	expire int64 // visible position after which the column no longer counts
}

// maxTableCols bounds the columns remembered.
const maxTableCols = 16

// maxLineBack bounds how far back a line's start is looked for; it does
// not exceed lookback, so the answer depends on the text alone.
const maxLineBack = lookback

// A hdrWord is a context word whose header-ness waits for the bytes after it.
type hdrWord struct {
	rec int
	pos int64 // visible position of the word
	n   int
}

// tableHeader records a column if the context word b[i:i+n] of rec is a
// whole field of a header line, or keeps it to decide when the text after
// it arrives (before any later text is scanned, so the result does not
// depend on how the stream was cut).
func (s *Stream) tableHeader(b []byte, i, n, rec int) {
	if !s.tryHeader(b, i, n, rec) && len(s.hdrPending) < 8 {
		s.hdrPending = append(s.hdrPending, hdrWord{rec: rec, pos: s.projBase + int64(i), n: n})
	}
}

// resolveHeaders decides the words tableHeader could not decide yet.
func (s *Stream) resolveHeaders() {
	keep := s.hdrPending[:0]
	for _, h := range s.hdrPending {
		if h.pos < s.projBase {
			continue
		}
		if !s.tryHeader(s.proj, int(h.pos-s.projBase), h.n, h.rec) {
			keep = append(keep, h)
		}
	}
	s.hdrPending = keep
}

// tryHeader reports whether it could decide (records the column if so).
// The field is the word with the identifier characters around it
// ("birth_date", "patient_ssn", "dateOfBirth").
func (s *Stream) tryHeader(b []byte, i, n, rec int) bool {
	for i > 0 && n < 64 && isFieldName(b[i-1]) {
		i, n = i-1, n+1
	}
	for i+n < len(b) && n < 64 && isFieldName(b[i+n]) {
		n++
	}
	if i+n == len(b) {
		return false
	}
	l := i - 1
	for l >= 0 && (b[l] == ' ' || b[l] == '"' || b[l] == '\'') {
		l--
	}
	r := i + n
	for r < len(b) && r-(i+n) < 64 && (b[r] == ' ' || b[r] == '"' || b[r] == '\'') {
		r++
	}
	if r >= len(b) {
		return false
	}
	var sep byte
	switch {
	case l >= 0 && isFieldSep(b[l]):
		sep = b[l]
	case isFieldSep(b[r]):
		sep = b[r]
	default:
		return true
	}
	if !(l < 0 || b[l] == sep || b[l] == '\n') || !(b[r] == sep || b[r] == '\n' || b[r] == '\r') {
		return true
	}
	col, ok := fieldIndex(b, i, sep, s.projBase == 0)
	if !ok {
		return true
	}
	c := tableCol{rec: rec, sep: sep, col: col, expire: s.projBase + int64(i) + tableSpan}
	for k := range s.tables {
		if t := &s.tables[k]; t.rec == rec && t.sep == sep && t.col == col {
			*t = c
			return true
		}
	}
	if len(s.tables) == maxTableCols {
		s.tables = append(s.tables[:0], s.tables[1:]...)
	}
	s.tables = append(s.tables, c)
	return true
}

func isFieldName(c byte) bool { return isWordish(c) || c == '.' || c == '#' }

func isFieldSep(c byte) bool { return c == ',' || c == '\t' || c == '|' || c == ';' }

// fieldIndex returns the number of separators between the start of the
// line and b[i], not counting those inside double quotes ("Jul 6, 1947" in
// a CSV), and false if the line starts more than maxLineBack bytes before.
// whole says b starts at the start of the stream.
func fieldIndex(b []byte, i int, sep byte, whole bool) (int, bool) {
	j := i - 1
	for j >= 0 && b[j] != '\n' {
		if i-j > maxLineBack {
			return 0, false
		}
		j--
	}
	if j < 0 && !whole {
		return 0, false
	}
	n, quoted := 0, false
	for _, c := range b[j+1 : i] {
		switch {
		case c == '"' && sep != '|':
			quoted = !quoted
		case c == sep && !quoted:
			n++
		}
	}
	return n, true
}

// tableCtx reports whether pos starts a field in a remembered column of rec.
func (s *Stream) tableCtx(rec int, pos int64) bool {
	if len(s.tables) == 0 || pos < s.projBase {
		return false
	}
	b := s.proj
	i := int(pos - s.projBase)
	for k := range s.tables {
		t := &s.tables[k]
		if t.rec != rec || pos > t.expire {
			continue
		}
		l := i - 1
		for l >= 0 && (b[l] == ' ' || b[l] == '"' || b[l] == '\'') {
			l--
		}
		if l >= 0 && b[l] != t.sep && b[l] != '\n' {
			continue
		}
		if col, ok := fieldIndex(b, i, t.sep, s.projBase == 0); ok && col == t.col {
			t.expire = pos + tableSpan
			return true
		}
	}
	return false
}
