package masking

// Reading the changed rows before an erase removes what they show: a value
// drawn and erased within one chunk is masked too.

// beforeErase reads the changed rows before an erase may remove them.
func (t *term) beforeErase() {
	if t.spill == nil {
		return
	}
	for _, r := range t.rows {
		if r.touched {
			t.spill(true)
			return
		}
	}
}

// erases reports whether CSI f with count n removes a character of a row
// changed since the last check. An erase of blank cells (the EL that
// grep --color sends after each match, at the end of the line) or of rows
// already read loses nothing, so it needs no check: the check after the
// chunk reads the same cells.
func (t *term) erases(f byte, n int) bool {
	y := t.y
	switch f {
	case 'K':
		switch t.arg(0, 0) {
		case 0:
			return t.lost(y, t.x, t.w)
		case 1:
			return t.lost(y, 0, t.x+1)
		}
		return t.lost(y, 0, t.w)
	case 'X':
		return t.lost(y, t.x, min(t.x+n, t.w))
	case 'P': // the rest of the row moves left
		return t.lost(y, t.x, t.w)
	case 'J':
		switch t.arg(0, 0) {
		case 0:
			return t.lost(y, t.x, t.w) || t.lostRows(y+1, t.h)
		case 1:
			return t.lost(y, 0, t.x+1) || t.lostRows(0, y)
		}
		return t.lostRows(0, t.h)
	case 'L', 'M': // rows y..bot move
		return t.lostRows(y, t.h)
	}
	return false
}

// lost reports whether columns from..to of row y hold a character not read
// since it was written.
func (t *term) lost(y, from, to int) bool {
	r := t.rows[y]
	if !r.touched {
		return false
	}
	for _, c := range r.cells[min(from, r.used):min(to, r.used)] {
		if c.ch != 0 {
			return true
		}
	}
	return false
}

// lostRows reports whether rows from..to-1 hold a character not read since
// it was written.
func (t *term) lostRows(from, to int) bool {
	for y := from; y < to; y++ {
		if t.lost(y, 0, t.w) {
			return true
		}
	}
	return false
}
