package masking

// Dates of birth are dates shortly after a context word (DOB, D.O.B., born,
// birth, birthdate, birthday, date of birth, ...). Accepted forms:
//
//	01/02/1980  1/2/80  01-02-1980  01.02.1980  1980-01-02  1980/01/02
//	Jan 2, 1980  January 2nd 1980  Jan. 2 1980  Jan-02-1980
//	2 Jan 1980  2nd January, 1980  02-Jan-1980
//
// Month and day may come in either order in the numeric forms; the date
// must exist (February 29 is accepted in any year). Without a context word a
// date is left alone: timestamps in logs are dates too.

var monthNames = [...]struct {
	name string
	m    int
}{
	{"jan", 1}, {"january", 1}, {"feb", 2}, {"february", 2}, {"mar", 3}, {"march", 3},
	{"apr", 4}, {"april", 4}, {"may", 5}, {"jun", 6}, {"june", 6}, {"jul", 7}, {"july", 7},
	{"aug", 8}, {"august", 8}, {"sep", 9}, {"sept", 9}, {"september", 9}, {"oct", 10},
	{"october", 10}, {"nov", 11}, {"november", 11}, {"dec", 12}, {"december", 12},
}

var monthDays = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func validDate(y, yDigits, m, d int) bool {
	if yDigits == 4 && (y < 1880 || y > 2099) || yDigits != 4 && yDigits != 2 {
		return false
	}
	return m >= 1 && m <= 12 && d >= 1 && d <= monthDays[m]
}

// monthAt returns the month named by the word at i and the end of the word.
func monthAt(t *text, i int) (int, int) {
	var w [9]byte
	n := 0
	for {
		c := t.at(i + n)
		if !isAlpha(c) {
			break
		}
		if n == len(w) {
			return 0, 0
		}
		w[n] = lower(c)
		n++
	}
	for _, mn := range monthNames {
		if string(w[:n]) == mn.name {
			return mn.m, i + n
		}
	}
	return 0, 0
}

// ordinal skips "st", "nd", "rd" or "th" after a day number at j.
func ordinal(t *text, j int) int {
	a := lower(t.at(j))
	if a != 's' && a != 'n' && a != 'r' && a != 't' {
		return j
	}
	b := lower(t.at(j + 1))
	if (a == 's' && b == 't' || (a == 'n' || a == 'r') && b == 'd' || a == 't' && b == 'h') && !isAlpha(t.at(j+2)) {
		return j + 2
	}
	return j
}

// evalDateNumeric matches the numeric forms at the digit b[i].
func (s *Stream) evalDateNumeric(t *text, i int) {
	a, na := num(t, i, 4)
	if na == 0 || na == 3 || na > 4 {
		return
	}
	sep := t.at(i + na)
	if sep != '/' && sep != '-' && sep != '.' {
		return
	}
	j := i + na + 1
	b, nb := num(t, j, 2)
	if nb == 0 || nb > 2 || t.at(j+nb) != sep {
		return
	}
	j += nb + 1
	c, nc := num(t, j, 4)
	if nc == 0 || nc == 3 || nc > 4 {
		return
	}
	e := j + nc
	var ok bool
	if na == 4 {
		ok = nc <= 2 && validDate(a, 4, b, c)
	} else {
		ok = validDate(c, nc, a, b) || validDate(c, nc, b, a)
	}
	// An ISO date may go on with a time: 1980-01-02T00:00:00Z. A time with
	// fractions of a second is a machine's time stamp, such as the "Birth"
	// (creation time) of stat(1): 1970-01-01 00:00:00.000000000 +0000.
	if ok && stampTime(t, e) {
		return
	}
	if ok && (rightFree(t, e, false) || na == 4 && t.at(e) == 'T' && isDigit(t.at(e+1))) {
		s.add(recDOB, i, e, i)
	}
}

// stampTime reports whether " HH:MM:SS.fff" (or 'T' for the space) starts at e.
func stampTime(t *text, e int) bool {
	if c := t.at(e); c != ' ' && c != 'T' {
		return false
	}
	return digits(t, e+1, 2) && t.at(e+3) == ':' && digits(t, e+4, 2) && t.at(e+6) == ':' &&
		digits(t, e+7, 2) && (t.at(e+9) == '.' || t.at(e+9) == ',') && digits(t, e+10, 3)
}

// evalDayFirst matches "2 Jan 1980" and its variants at the digit b[i].
func (s *Stream) evalDayFirst(t *text, i int) {
	d, nd := num(t, i, 2)
	if nd == 0 || nd > 2 {
		return
	}
	j := ordinal(t, i+nd)
	if c := t.at(j); c != ' ' && c != '-' {
		return
	}
	m, j := monthAt(t, j+1)
	if m == 0 {
		return
	}
	s.dateTail(t, i, j, m, d, true)
}

// evalMonthFirst matches "Jan 2, 1980" and its variants at the letter b[i].
func (s *Stream) evalMonthFirst(t *text, i int) {
	m, j := monthAt(t, i)
	if m == 0 {
		return
	}
	if t.at(j) == '.' {
		j++
	}
	if c := t.at(j); c != ' ' && c != '-' {
		return
	}
	j++
	d, nd := num(t, j, 2)
	if nd == 0 || nd > 2 {
		return
	}
	s.dateTail(t, i, ordinal(t, j+nd), m, d, false)
}

// dateTail matches the rest of a textual date from j: for the day-first
// form an optional '.' after an abbreviated month, then an optional comma,
// one separator and a four-digit year.
func (s *Stream) dateTail(t *text, i, j, m, d int, dayFirst bool) {
	if dayFirst && t.at(j) == '.' {
		j++
	}
	if t.at(j) == ',' {
		j++
	}
	if c := t.at(j); c != ' ' && c != '-' {
		return
	}
	j++
	y, ny := num(t, j, 4)
	if ny != 4 || !validDate(y, 4, m, d) || !rightFree(t, j+4, false) {
		return
	}
	s.add(recDOB, i, j+4, i)
}
