package masking

// North American Numbering Plan numbers: (NXX) NXX-XXXX, NXX-NXX-XXXX,
// NXX.NXX.XXXX, NXX NXX XXXX, optionally after a country code "1", "+1"
// (with or without a separator), and +1NXXNXXXXXX. N is 2-9: neither the
// area code nor the exchange starts with 0 or 1, except that area code 555,
// which NANPA reserves for fictional use, takes any exchange: numbers such
// as 555-123-4567 stand for real ones in test data and demonstrations.
// Unseparated ten-digit numbers are not matched: too many other numbers
// look like them.

func phoneSep(c byte) bool { return c == '-' || c == '.' || c == ' ' }
func nxx(c byte) bool      { return c >= '2' && c <= '9' }

// exchange reports whether the exchange at x may follow the area code at a
// (both already known to be digits).
func exchange(t *text, a, x int) bool {
	return nxx(t.b[x]) || t.b[a] == '5' && t.b[a+1] == '5' && t.b[a+2] == '5'
}

// plainPhone matches NXX?NXX?XXXX with one separator kind at j and returns
// the end of the match.
func plainPhone(t *text, j int) (int, bool) {
	if !nxx(t.at(j)) || !digits(t, j, 3) {
		return 0, false
	}
	sep := t.at(j + 3)
	if !phoneSep(sep) || !digits(t, j+4, 3) || !exchange(t, j, j+4) || t.at(j+7) != sep || !digits(t, j+8, 4) {
		return 0, false
	}
	if !rightFree(t, j+12, sep == ' ') {
		return 0, false
	}
	return j + 12, true
}

// parenPhone matches "(NXX) NXX-XXXX" (the space is optional, the second
// separator may be '-', '.' or ' ') at the '(' at p.
func parenPhone(t *text, p int) (int, bool) {
	if t.at(p) != '(' || !nxx(t.at(p+1)) || !digits(t, p+1, 3) || t.at(p+4) != ')' {
		return 0, false
	}
	j := p + 5
	if t.at(j) == ' ' {
		j++
	}
	if !digits(t, j, 3) || !exchange(t, p+1, j) {
		return 0, false
	}
	sep := t.at(j + 3)
	if !phoneSep(sep) || !digits(t, j+4, 4) || !rightFree(t, j+8, sep == ' ') {
		return 0, false
	}
	return j + 8, true
}

// evalPhone matches phone numbers starting at the digit b[i].
func (s *Stream) evalPhone(t *text, i int, glue byte) {
	if digits(t, i, 10) && !isDigit(t.at(i+10)) {
		// Unseparated: numericKinds found a context word or a column.
		if nxx(t.b[i]) && exchange(t, i, i+3) && rightFree(t, i+10, false) {
			s.add(recPhone, i, i+10, i)
		}
		return
	}
	if e, ok := plainPhone(t, i); ok && !(glue == ' ' && t.at(i+3) == ' ') {
		s.add(recPhone, i, e, i)
		return
	}
	if t.at(i) != '1' {
		return
	}
	j := i + 1
	c := t.at(j)
	spaced := c == ' '
	if phoneSep(c) {
		j++
		c = t.at(j)
	}
	var e int
	var ok bool
	switch {
	case c == '(':
		e, ok = parenPhone(t, j)
	case j > i+1:
		e, ok = plainPhone(t, j)
		spaced = spaced || t.at(j+3) == ' '
	}
	if ok && !(glue == ' ' && spaced) {
		s.add(recPhone, i, e, i)
	}
}

// evalPhoneMark matches phone numbers starting at '(' or '+'.
func (s *Stream) evalPhoneMark(t *text, i int) {
	prev := t.at(i - 1)
	if isWordish(prev) {
		return
	}
	if t.at(i) == '(' {
		if prev == ' ' && isDigit(t.at(i-2)) || prev == '+' {
			return // "1 (555) ..." and "+(": the country code's trigger decides
		}
		if e, ok := parenPhone(t, i); ok {
			s.add(recPhone, i, e, i)
		}
		return
	}
	if t.at(i+1) != '1' {
		return
	}
	j := i + 2
	c := t.at(j)
	if isDigit(c) {
		if nxx(c) && digits(t, j, 10) && exchange(t, j, j+3) && rightFree(t, j+10, false) {
			s.add(recPhone, i, j+10, i)
		}
		return
	}
	if phoneSep(c) {
		j++
		c = t.at(j)
	}
	var e int
	var ok bool
	if c == '(' {
		e, ok = parenPhone(t, j)
	} else if j > i+2 {
		e, ok = plainPhone(t, j)
	}
	if ok {
		s.add(recPhone, i, e, i)
	}
}
