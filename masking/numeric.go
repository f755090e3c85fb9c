package masking

// Numeric recognizers run at the first digit of a number. A number glued to
// a longer one ("1123-45-67890", "v1.2.3-45", "12:34", "abc123") is never a
// match; a space before it only rules out forms that use spaces themselves
// ("7 123 45 6789" is not an SSN, "page 7 123-45-6789" holds one).

// evalNumeric runs the numeric recognizers at the digit b[i]. The length of
// the run of digits and the byte after it select the recognizers that can
// apply, which keeps ordinary numbers cheap.
func (s *Stream) evalNumeric(t *text, i int) {
	on := &s.m.on
	c1 := t.at(i - 1)
	if isWordish(c1) {
		return
	}
	var glue byte
	if isGlue(c1) && isDigit(t.at(i-2)) {
		if c1 != ' ' {
			return
		}
		glue = ' '
	}
	n := 0
	for isDigit(t.at(i + n)) {
		if n++; n > 19 {
			return // no recognizer takes a run of 20 digits
		}
	}
	next := t.at(i + n)
	sep := next == '-' || next == ' '
	pos := s.projBase + int64(i)
	if n == 3 && sep && (on[recSSN] || on[recITIN]) {
		s.evalSSN(t, i, glue)
	}
	if on[recCard] && (n >= 13 || n >= 3 && n <= 6 && sep) {
		s.evalCard(t, i)
	}
	if on[recNPI] && n == 10 {
		s.evalNPI(t, i, pos)
	}
	if on[recPhone] && c1 != '+' && c1 != '(' &&
		(n == 3 && phoneSep(next) || n == 1 && t.b[i] == '1' && (phoneSep(next) || next == '(')) {
		s.evalPhone(t, i, glue)
	}
	if on[recMBI] && n == 1 && mbiLetter(next) {
		s.evalMBI(t, i)
	}
	if on[recIPv4] && c1 != ':' && n <= 3 && next == '.' {
		s.evalIPv4(t, i)
	}
	if on[recIPv6] && ipv6Left(c1) && n <= 4 && (next == ':' || kinds[next]&kHex != 0) {
		s.evalIPv6(t, i)
	}
	if on[recDOB] && (n <= 2 || n == 4) && s.hasCtx(recDOB, pos) {
		if next == '/' || next == '-' || next == '.' {
			s.evalDateNumeric(t, i)
		}
		if n <= 2 && (next == ' ' || next == '-' || isAlpha(next)) {
			s.evalDayFirst(t, i)
		}
	}
}

// evalSSN matches "AAA-GG-SSSS" or "AAA GG SSSS" as an SSN or an ITIN.
func (s *Stream) evalSSN(t *text, i int, glue byte) {
	if !digits(t, i, 3) {
		return
	}
	sep := t.at(i + 3)
	if sep != '-' && sep != ' ' || glue == ' ' && sep == ' ' {
		return
	}
	if !digits(t, i+4, 2) || t.at(i+6) != sep || !digits(t, i+7, 4) || !rightFree(t, i+11, sep == ' ') {
		return
	}
	d := func(k int) int { return int(t.b[i+k] - '0') }
	area := d(0)*100 + d(1)*10 + d(2)
	group := d(4)*10 + d(5)
	serial := d(7)*1000 + d(8)*100 + d(9)*10 + d(10)
	switch {
	case s.m.on[recSSN] && validSSN(area, group, serial):
		s.add(recSSN, i, i+11, i)
	case s.m.on[recITIN] && validITIN(area, group, serial):
		s.add(recITIN, i, i+11, i)
	}
}

// validSSN applies the Social Security Administration's rules: no area 000,
// 666 or 900-999, no group 00, no serial 0000 (SSA, "Social Security Number
// Randomization"), and not one of the numbers known from misuse in
// advertising (078-05-1120, the Woolworth wallet card; 219-09-9999).
func validSSN(area, group, serial int) bool {
	if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
		return false
	}
	n := area*1000000 + group*10000 + serial
	return n != 78051120 && n != 219099999
}

// validITIN applies the IRS format for Individual Taxpayer Identification
// Numbers: 9XX-YY-XXXX with YY in 70-88, 90-92 or 94-99.
func validITIN(area, group, serial int) bool {
	if area < 900 || serial == 0 {
		return false
	}
	return group >= 70 && group <= 88 || group >= 90 && group <= 92 || group >= 94
}

// evalNPI matches a National Provider Identifier: ten digits starting with 1
// or 2 whose check digit is the Luhn digit over the digits prefixed with
// 80840 (CMS, "Requirements for NPI Check Digit").
func (s *Stream) evalNPI(t *text, i int, pos int64) {
	if c := t.at(i); c != '1' && c != '2' {
		return
	}
	if !digits(t, i, 10) || !rightFree(t, i+10, false) {
		return
	}
	if s.m.recs[recNPI].require && !s.hasCtx(recNPI, pos) {
		return
	}
	var d [15]byte
	copy(d[:], []byte{8, 0, 8, 4, 0})
	for k := 0; k < 10; k++ {
		d[5+k] = t.b[i+k] - '0'
	}
	if luhn(d[:]) {
		s.add(recNPI, i, i+10, i)
	}
}

// evalIPv4 matches a dotted-quad IPv4 address.
func (s *Stream) evalIPv4(t *text, i int) {
	j := i
	for k := 0; k < 4; k++ {
		v, n := num(t, j, 3)
		if n == 0 || n > 3 || v > 255 {
			return
		}
		j += n
		if k < 3 {
			if t.at(j) != '.' {
				return
			}
			j++
		}
	}
	// A port (":22") may follow; more dotted numbers may not.
	if c := t.at(j); isWordish(c) || (c == '.' || c == '-' || c == '/') && isDigit(t.at(j+1)) {
		return
	}
	s.add(recIPv4, i, j, i)
}
