package masking

// Moving the terminal model's rows: line feeds, scrolling within the
// region, inserting and deleting lines, the alternate screen. A changed row
// that leaves the screen is still read (scrolledOff).

func (t *term) clear() {
	for _, r := range t.rows {
		r.blank()
	}
}

func (t *term) lineFeed() {
	t.wrap = false
	if t.y == t.bot {
		t.scrollUp(1)
		return
	}
	if t.y < t.h-1 {
		t.y++
	}
}

// altScreen switches to the alternate screen (a blank one) or back to the
// main screen, which shows again what it held.
func (t *term) altScreen(enter, saveCursor bool) {
	if enter == (t.main != nil) {
		return
	}
	t.beforeErase()
	if enter {
		if saveCursor {
			t.sx, t.sy = t.x, t.y
		}
		t.main, t.mainBuf = t.rows, t.rowBuf
		t.rows = make([]*row, t.h)
		t.rowBuf = t.rows
		for i := range t.rows {
			t.rows[i] = t.newRow()
		}
		return
	}
	for _, r := range t.rows {
		t.scrolledOff(r)
	}
	t.rows, t.rowBuf, t.main, t.mainBuf = t.main, t.mainBuf, nil, nil
	if saveCursor {
		t.x, t.y = t.sx, t.sy
	}
}

// scrollUp scrolls the scrolling region up by n rows.
func (t *term) scrollUp(n int) {
	rs := t.rows[t.top : t.bot+1]
	n = min(n, len(rs))
	for _, r := range rs[:n] {
		t.scrolledOff(r)
	}
	if len(rs) == t.h {
		// The whole screen scrolls: slide the window over a longer
		// buffer rather than move every row (200 in the large model).
		if cap(t.rows)-t.h < n {
			// At the end of the buffer: back to its start (the first
			// time, a buffer of scrollBuf screens).
			if len(t.rowBuf) < scrollBuf*t.h {
				t.rowBuf = make([]*row, scrollBuf*t.h)
			}
			copy(t.rowBuf, t.rows)
			clear(t.rowBuf[t.h:]) // not kept alive by the buffer
			t.rows = t.rowBuf[:t.h]
		}
		clear(t.rows[:n]) // scrolled off: not kept alive by the buffer
		t.rows = t.rows[n : t.h+n]
		for i := t.h - n; i < t.h; i++ {
			t.rows[i] = t.newRow()
		}
		return
	}
	copy(rs, rs[n:])
	for i := len(rs) - n; i < len(rs); i++ {
		rs[i] = t.newRow()
	}
}

// scrollBuf is how many screens of row pointers the rows slide over
// before they are moved back to the start of the buffer (rowBuf).
const scrollBuf = 8

// scrollDown scrolls the scrolling region down by n rows.
func (t *term) scrollDown(n int) {
	rs := t.rows[t.top : t.bot+1]
	n = min(n, len(rs))
	for _, r := range rs[len(rs)-n:] {
		t.scrolledOff(r)
	}
	copy(rs[n:], rs[:len(rs)-n])
	for i := 0; i < n; i++ {
		rs[i] = t.newRow()
	}
}

// shiftLines inserts (or deletes) n blank lines at the cursor's row.
func (t *term) shiftLines(insert bool, n int) {
	if t.y < t.top || t.y > t.bot {
		return
	}
	rs := t.rows[t.y : t.bot+1]
	n = min(n, len(rs))
	if insert {
		for _, r := range rs[len(rs)-n:] {
			t.scrolledOff(r)
		}
		copy(rs[n:], rs[:len(rs)-n])
	} else {
		for _, r := range rs[:n] {
			t.scrolledOff(r)
		}
		copy(rs, rs[n:])
		rs = rs[len(rs)-n:]
	}
	for i := 0; i < n; i++ {
		rs[i] = t.newRow()
	}
}
