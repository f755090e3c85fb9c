package masking

// evalCard matches a payment card number: 13-19 digits, either unseparated
// or in groups of 3-6 digits separated by one kind of separator (space or
// hyphen), Luhn-valid, with a known issuer prefix. When the number is
// followed by more space-separated digits, the longest valid prefix is taken.
func (s *Stream) evalCard(t *text, i int) {
	var d [19]byte
	n := 0
	j := i
	for isDigit(t.at(j)) {
		if n == len(d) {
			return
		}
		d[n] = t.b[j] - '0'
		n++
		j++
	}
	if n >= 13 {
		if rightFree(t, j, false) && cardOK(d[:n]) {
			s.add(recCard, i, j, i)
		}
		return
	}
	if n < 3 || n > 6 {
		return
	}
	sep := t.at(j)
	if sep != ' ' && sep != '-' || isGlue(t.at(i-1)) && isDigit(t.at(i-2)) {
		return // or the first group is part of a longer grouped number
	}
	var groupBuf [len(d)]int // on the stack: no allocation per number
	groups := append(groupBuf[:0], n)
	best := -1
	for t.at(j) == sep && isDigit(t.at(j+1)) {
		j++
		g := 0
		for isDigit(t.at(j)) {
			if n == len(d) {
				break
			}
			d[n] = t.b[j] - '0'
			n++
			g++
			j++
		}
		if g < 1 || g > 9 || isDigit(t.at(j)) {
			break
		}
		groups = append(groups, g)
		if n >= 13 && rightFree(t, j, false) && cardGrouping(groups) && cardOK(d[:n]) {
			best = j
		}
		if n >= 19 {
			break
		}
	}
	if best >= 0 {
		s.add(recCard, i, best, i)
	}
}

// cardGrouping reports whether groups is how card numbers are printed:
// fours with a last group of 1-7 (4-4-4-4, 4-4-4-4-3, 4-4-4-1, 4-4-4-7
// as some print 19 digits), or the
// 4-6-5 and 4-6-4 of American Express and Diners Club (4-6-6 for its
// longer numbers: 4-6-6 up to 4-6-9).
func cardGrouping(groups []int) bool {
	k := len(groups)
	if k == 3 && groups[0] == 4 && groups[1] == 6 && groups[2] >= 4 && groups[2] <= 9 {
		return true
	}
	for _, g := range groups[:k-1] {
		if g != 4 {
			return false
		}
	}
	return k >= 3 && groups[k-1] >= 1 && groups[k-1] <= 7
}

// cardOK reports whether d is a Luhn-valid number with the issuer prefix
// and length of a known card scheme (ISO/IEC 7812 IIN ranges as published
// by the schemes).
func cardOK(d []byte) bool {
	n := len(d)
	p := func(k int) int {
		v := 0
		for _, x := range d[:k] {
			v = v*10 + int(x)
		}
		return v
	}
	p2, p3, p4, p6 := p(2), p(3), p(4), p(6)
	var ok bool
	switch {
	case d[0] == 4: // Visa
		ok = n == 13 || n == 16 || n == 19
	case p2 == 34 || p2 == 37: // American Express
		ok = n == 15
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		ok = n == 16
	case p4 == 6011, p3 >= 644 && p3 <= 649, p2 == 65, p6 >= 622126 && p6 <= 622925: // Discover
		ok = n >= 16
	case p2 == 62: // UnionPay
		ok = n >= 16
	case p3 >= 300 && p3 <= 305, p2 == 36, p2 == 38, p2 == 39: // Diners Club
		ok = n >= 14
	case p4 >= 3528 && p4 <= 3589: // JCB
		ok = n >= 16
	case p4 >= 2200 && p4 <= 2204: // Mir
		ok = n >= 16
	case p2 == 50, p2 >= 56 && p2 <= 69: // Maestro
		ok = n >= 13
	}
	return ok && luhn(d)
}
