package masking

import (
	"unicode"

	"github.com/mattn/go-runewidth"
)

// Printing into the terminal model's cells, and what printing tells the
// Screen about a row: printed in sequence or not, and whether it holds a
// character a value could start with.

// printASCII prints a run of printable ASCII bytes from stream offset src:
// print, a row's worth at a time.
func (t *term) printASCII(b []byte, src int64) {
	for len(b) > 0 {
		if t.insert || t.wrap || t.x >= t.w-1 {
			t.print(rune(b[0]), src, 1)
			b, src = b[1:], src+1
			continue
		}
		row := t.rows[t.y]
		n := min(len(b), t.w-1-t.x) // the last column goes through print
		cells := t.line(t.y, t.x+n)
		if t.x != row.end {
			row.tricky = true
		}
		dst := cells[t.x : t.x+n]
		if !row.tricky && t.x < row.used { // cells from used on are blank
			for _, c := range dst[:min(n, row.used-t.x)] {
				if c.ch != 0 {
					row.tricky = true // an overwrite
					break
				}
			}
		}
		if !row.cand {
			for _, c := range b[:n] {
				if isDigit(c) || c == '@' {
					row.cand = true
					break
				}
			}
		}
		for k, c := range b[:n] {
			dst[k] = cell{src: src + int64(k), ch: rune(c), n: 1}
		}
		t.x += n
		row.touched, row.end = true, t.x
		row.used = max(row.used, t.x)
		b, src = b[n:], src+int64(n)
	}
}

// print puts r, n bytes long from stream offset src, at the cursor.
func (t *term) print(r rune, src int64, n uint8) {
	wd := runeWidth(r)
	if wd == 0 {
		t.mark()
		return
	}
	if r >= 0x80 && screenByte(r) < 0x80 {
		t.mark() // a look-alike of an ASCII character
	}
	if t.wrap || t.x+wd > t.w {
		if t.noWrap {
			t.x, t.wrap = t.w-wd, false
		} else {
			t.x = 0
			t.lineFeed()
		}
	}
	need := t.x + wd
	if t.insert {
		need = t.w // the rest of the row shifts right
	}
	cells := t.line(t.y, need)
	if row := t.rows[t.y]; t.x != row.end || cells[t.x].ch != 0 {
		row.tricky = true
	}
	if t.insert {
		t.rows[t.y].used = min(t.w, t.rows[t.y].used+wd)
	}
	if t.insert {
		copy(cells[t.x+wd:], cells[t.x:t.w-wd])
	}
	cells[t.x] = cell{ch: r, src: src, n: n}
	if wd == 2 {
		cells[t.x+1] = cell{ch: wideTail, src: src}
	}
	row := t.rows[t.y]
	row.touched = true
	row.cand = row.cand || r >= 0x80 || isDigit(byte(r)) || r == '@'
	row.end = t.x + wd
	row.used = max(row.used, row.end)
	if t.x+wd >= t.w {
		t.x, t.wrap = t.w-1, true
	} else {
		t.x += wd
	}
}

// runeWidth is the number of cells r occupies: 0 for format characters
// (U+200B and the like) and combining marks, which add nothing to read.
func runeWidth(r rune) int {
	if r < 0x80 {
		return 1
	}
	if unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) {
		return 0
	}
	return max(runewidth.RuneWidth(r), 1)
}
