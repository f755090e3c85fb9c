package masking

// Medicare Beneficiary Identifiers (CMS, "Understanding the MBI format"):
// eleven characters, optionally written with hyphens after the fourth and
// seventh (1EG4-TE5-MK73). Position 1 is 1-9; 2, 5, 8 and 9 are letters;
// 3 and 6 letters or digits; 4, 7, 10 and 11 digits. The letters S, L, O,
// I, B and Z are never used.

func mbiLetter(c byte) bool {
	return c >= 'A' && c <= 'Z' && c != 'S' && c != 'L' && c != 'O' && c != 'I' && c != 'B' && c != 'Z'
}

func mbiChar(n int, c byte) bool {
	switch n {
	case 0:
		return c >= '1' && c <= '9'
	case 1, 4, 7, 8:
		return mbiLetter(c)
	case 2, 5:
		return mbiLetter(c) || isDigit(c)
	default:
		return isDigit(c)
	}
}

// evalMBI matches an MBI at the digit b[i].
func (s *Stream) evalMBI(t *text, i int) {
	if !mbiLetter(t.at(i + 1)) {
		return
	}
	j := i
	dashes := 0
	for n := 0; n < 11; n++ {
		if (n == 4 || n == 7) && t.at(j) == '-' {
			if n == 7 && dashes == 0 {
				return
			}
			dashes++
			j++
		} else if n == 7 && dashes == 1 {
			return
		}
		if !mbiChar(n, t.at(j)) {
			return
		}
		j++
	}
	if c := t.at(j); isWordish(c) || c == '-' && isAlnum(t.at(j+1)) {
		return
	}
	s.add(recMBI, i, j, i)
}
