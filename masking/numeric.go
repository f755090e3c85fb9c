package masking

// Numeric recognizers run at the first digit of a number. A number glued to
// a longer one ("1123-45-67890", "v1.2.3-45", "12:34", "abc123") is never a
// match; a space before it only rules out forms that use spaces themselves
// ("7 123 45 6789" is not an SSN, "page 7 123-45-6789" holds one).

// numericKinds returns the numeric recognizers that can match a run of n
// digits starting with d0, preceded by c1 and followed by next: the run
// length and the byte after it rule out most recognizers for most numbers.
func (s *Stream) numericKinds(c1 byte, n int, d0, next byte, pos int64) uint16 {
	if n > 19 {
		return 0
	}
	k := s.m.numTab[n][next]
	if k == 0 {
		return 0
	}
	if k&(1<<recPhone) != 0 && (c1 == '+' || c1 == '(' || n == 1 && d0 != '1') {
		k &^= 1 << recPhone
	}
	if k&(1<<recIPv4) != 0 && c1 == ':' {
		k &^= 1 << recIPv4
	}
	if k&(1<<recIPv6) != 0 && !ipv6Left(c1) {
		k &^= 1 << recIPv6
	}
	if k&(1<<recDOB) != 0 && !s.hasCtx(recDOB, pos) {
		k &^= 1 << recDOB
	}
	if c1 == '_' {
		k &= 1 << recSSN
	}
	if k&(1<<recSSN) != 0 && n == 9 && !s.hasCtx(recSSN, pos) {
		k &^= 1 << recSSN
	}
	if k&(1<<recPhone) != 0 && n == 10 && !s.hasCtx(recPhone, pos) {
		k &^= 1 << recPhone
	}
	if k&(1<<recMRN) != 0 && !s.tableCtx(recMRN, pos) {
		k &^= 1 << recMRN
	}
	return k
}

// shapeKinds is numericKinds for the length of the run and the byte after
// it alone, assuming the rest allows everything; it fills Masker.numTab.
func shapeKinds(on *[numBuiltin]bool, n int, next byte) uint16 {
	sep := next == '-' || next == ' '
	var k uint16
	if n == 3 && (sep || next == '.') && (on[recSSN] || on[recITIN]) {
		k |= 1 << recSSN
	}
	// Undashed SSNs and ten-digit phone numbers count after a context word
	// or under a table header only (numericKinds checks).
	if n == 9 && !isDigit(next) && (on[recSSN] || on[recITIN]) {
		k |= 1 << recSSN
	}
	if n == 10 && !isDigit(next) && on[recPhone] {
		k |= 1 << recPhone
	}
	// A number under an MRN column (the pattern recognizer covers MRNs after
	// a context word on their line).
	if n >= 6 && n <= 10 && !isDigit(next) && on[recMRN] {
		k |= 1 << recMRN
	}
	if on[recCard] && (n >= 13 || n >= 3 && n <= 6 && sep) {
		k |= 1 << recCard
	}
	if on[recNPI] && n == 10 {
		k |= 1 << recNPI
	}
	if on[recPhone] && (n == 3 && phoneSep(next) || n == 1 && (phoneSep(next) || next == '(')) {
		k |= 1 << recPhone
	}
	if on[recMBI] && n == 1 && mbiLetter(next) {
		k |= 1 << recMBI
	}
	if on[recIPv4] && n <= 3 && next == '.' {
		k |= 1 << recIPv4
	}
	if on[recIPv6] && n <= 4 && (next == ':' || kinds[next]&kHex != 0) {
		k |= 1 << recIPv6
	}
	if on[recDOB] && (n <= 2 || n == 4) && (next == '/' || next == '-' || next == '.' || n <= 2 && (next == ' ' || isAlpha(next))) {
		k |= 1 << recDOB
	}
	return k
}

// needCtx returns the numeric kinds that numericKinds keeps for a run of n
// digits only after a context word or under a table header: dates of birth,
// numbers under an MRN column, undashed SSNs and ten-digit phone numbers.
func needCtx(n int) uint16 {
	k := uint16(1<<recDOB | 1<<recMRN)
	if n == 9 {
		k |= 1 << recSSN
	}
	if n == 10 {
		k |= 1 << recPhone
	}
	return k
}

// numericMay reports whether a numeric candidate at the digit b[i] can
// match, judging from the bytes already received. It may read past the
// MaxHold limit of the candidate: it only rules matches out, and a match it
// rules out would not be found with the limit either.
func (s *Stream) numericMay(b []byte, i int) bool {
	n := 0
	for i+n < len(b) && isDigit(b[i+n]) {
		if n++; n > 19 {
			return false
		}
	}
	if i+n == len(b) {
		return true // not known yet
	}
	return s.numericKinds(lb(b, i-1), n, b[i], b[i+n], s.projBase+int64(i)) != 0
}

// evalNumeric runs the numeric recognizers at the digit b[i] (which
// numericStart accepted).
func (s *Stream) evalNumeric(t *text, i int) {
	c1 := t.at(i - 1)
	var glue byte
	if c1 == ' ' && isDigit(t.at(i-2)) {
		glue = ' '
	}
	n := 0
	for isDigit(t.at(i + n)) {
		if n++; n > 19 {
			return
		}
	}
	pos := s.projBase + int64(i)
	k := s.numericKinds(c1, n, t.b[i], t.at(i+n), pos)
	if k&(1<<recSSN) != 0 {
		s.evalSSN(t, i, glue)
	}
	if k&(1<<recCard) != 0 {
		s.evalCard(t, i)
	}
	if k&(1<<recNPI) != 0 {
		s.evalNPI(t, i, pos)
	}
	if k&(1<<recPhone) != 0 {
		s.evalPhone(t, i, glue)
	}
	if k&(1<<recMBI) != 0 {
		s.evalMBI(t, i)
	}
	if k&(1<<recMRN) != 0 && rightFree(t, i+n, false) {
		s.add(recMRN, i, i+n, i)
	}
	if k&(1<<recIPv4) != 0 {
		s.evalIPv4(t, i)
	}
	if k&(1<<recIPv6) != 0 {
		s.evalIPv6(t, i)
	}
	if k&(1<<recDOB) != 0 {
		s.evalDateNumeric(t, i)
		s.evalDayFirst(t, i)
	}
}

// evalSSN matches "AAA-GG-SSSS", "AAA GG SSSS" or "AAA.GG.SSSS" as an SSN
// or an ITIN, and "AAAGGSSSS" where numericKinds found context for it.
func (s *Stream) evalSSN(t *text, i int, glue byte) {
	if !digits(t, i, 3) {
		return
	}
	if digits(t, i, 9) && !isDigit(t.at(i+9)) {
		if rightFree(t, i+9, false) || t.at(i+9) == '_' {
			s.ssnOrITIN(t, i, [3]int{0, 3, 5}, i+9)
		}
		return
	}
	sep := t.at(i + 3)
	if sep != '-' && sep != ' ' && sep != '.' || glue == ' ' && sep == ' ' {
		return
	}
	if !digits(t, i+4, 2) || t.at(i+6) != sep || !digits(t, i+7, 4) {
		return
	}
	if !rightFree(t, i+11, sep == ' ') && !(sep != ' ' && t.at(i+11) == '_') {
		return
	}
	if sep == '.' && (t.at(i+11) == '.' && isDigit(t.at(i+12)) || t.at(i-1) == '.') {
		return // a longer dotted number, such as a version
	}
	s.ssnOrITIN(t, i, [3]int{0, 4, 7}, i+11)
}

// ssnOrITIN adds an SSN or ITIN match from i to e whose area, group and
// serial start at the offsets at.
func (s *Stream) ssnOrITIN(t *text, i int, at [3]int, e int) {
	d := func(k int) int { return int(t.b[i+k] - '0') }
	area := d(at[0])*100 + d(at[0]+1)*10 + d(at[0]+2)
	group := d(at[1])*10 + d(at[1]+1)
	serial := d(at[2])*1000 + d(at[2]+1)*100 + d(at[2]+2)*10 + d(at[2]+3)
	switch {
	case s.m.on[recSSN] && validSSN(area, group, serial):
		s.add(recSSN, i, e, i)
	case s.m.on[recITIN] && validITIN(area, group, serial):
		s.add(recITIN, i, e, i)
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
