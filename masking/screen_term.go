package masking

import (
	"unicode"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
)

// The terminal model behind Screen: enough of a VT100/xterm to know which
// character each byte of output puts in which cell. It follows printing,
// autowrap, CR/LF/BS/TAB, cursor motion (CUU, CUD, CUF, CUB, CNL, CPL, CHA,
// HPA, VPA, CUP, HVP), save and restore (ESC 7/8, CSI s/u), erasing (EL,
// ED, ECH), inserting and deleting characters (ICH, DCH) and lines (IL,
// DL), scrolling (IND, RI, NEL, SU, SD) and the alternate screen (cleared
// on entry and exit). Colours and modes do not change what is shown and
// are skipped; so are string sequences (OSC, DCS, APC, PM, SOS), NUL, SI,
// SO and the other controls, and zero-width characters.

type cell struct {
	ch  rune  // 0: blank; wideTail: the right half of a wide character
	src int64 // stream offset of the character's first byte
	n   uint8 // its length in bytes
}

const wideTail = -1

type row struct {
	cells   []cell
	touched bool // written since the last check
}

// Parser states.
const (
	stGround = iota
	stEsc
	stEscInter // ESC followed by intermediates: one more byte ends it
	stCSI
	stString    // OSC, DCS, APC, PM, SOS: until BEL or ST
	stStringEsc // ESC inside a string: '\\' ends it
)

type term struct {
	w, h   int
	onlcr  bool // a line feed also returns the cursor (see Screen)
	rows   []*row
	gone   []*row // touched rows scrolled off since the last check
	free   []*row // rows to reuse
	spill  func() // checks gone when it holds goneMax rows
	x, y   int
	wrap   bool // the last column was printed: the next character wraps
	sx, sy int  // saved cursor

	state  int
	params []int
	param  int
	has    bool // a digit of the current parameter was seen
	priv   bool // CSI with a private marker or intermediates
	utf    [utf8.UTFMax]byte
	utfN   int
	utfSrc int64
}

func newTerm(w, h int) *term {
	t := &term{w: max(w, 2), h: max(h, 1)}
	t.rows = make([]*row, t.h)
	for i := range t.rows {
		t.rows[i] = t.newRow()
	}
	return t
}

func (t *term) newRow() *row {
	if n := len(t.free); n > 0 {
		r := t.free[n-1]
		t.free = t.free[:n-1]
		clearCells(r.cells)
		r.touched = false
		return r
	}
	return &row{cells: make([]cell, t.w)}
}

// recycle keeps the checked rows that scrolled off for reuse.
func (t *term) recycle() {
	for _, r := range t.gone {
		if len(t.free) < goneMax {
			t.free = append(t.free, r)
		}
	}
	t.gone = t.gone[:0]
}

// scrolledOff notes a row leaving the screen.
func (t *term) scrolledOff(r *row) {
	if !r.touched {
		if len(t.free) < goneMax {
			t.free = append(t.free, r)
		}
		return
	}
	t.gone = append(t.gone, r)
	if len(t.gone) >= goneMax && t.spill != nil {
		t.spill()
	}
}

// feed runs b, which starts at stream offset off, through the model.
func (t *term) feed(b []byte, off int64) {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch t.state {
		case stGround:
			if c >= 0x80 || t.utfN > 0 {
				t.utf8Byte(c, off+int64(i))
				continue
			}
			if c >= 0x20 && c < 0x7f {
				t.print(rune(c), off+int64(i), 1)
				continue
			}
			t.control(c)
		case stEsc:
			t.escape(c)
		case stEscInter:
			t.state = stGround
		case stCSI:
			t.csiByte(c)
		case stString:
			if c == 0x07 {
				t.state = stGround
			} else if c == 0x1b {
				t.state = stStringEsc
			}
		case stStringEsc:
			if c == '\\' {
				t.state = stGround
			} else if c != 0x1b {
				t.state = stString
			}
		}
	}
}

func (t *term) utf8Byte(c byte, src int64) {
	if t.utfN == 0 {
		t.utfSrc = src
	}
	t.utf[t.utfN] = c
	t.utfN++
	if !utf8.FullRune(t.utf[:t.utfN]) && t.utfN < utf8.UTFMax {
		return
	}
	r, n := utf8.DecodeRune(t.utf[:t.utfN])
	rest := t.utfN - n
	t.utfN = 0
	if r != utf8.RuneError || n > 1 {
		t.print(r, t.utfSrc, uint8(n))
	}
	if rest > 0 {
		// Invalid: the bytes after the first start over.
		b := append([]byte(nil), t.utf[n:n+rest]...)
		for k, c := range b {
			if c < 0x80 {
				t.feed(b[k:], t.utfSrc+int64(n+k))
				return
			}
			t.utf8Byte(c, t.utfSrc+int64(n+k))
		}
	}
}

func (t *term) control(c byte) {
	switch c {
	case '\r':
		t.x, t.wrap = 0, false
	case '\n', '\v', '\f':
		if t.onlcr {
			t.x = 0
		}
		t.lineFeed()
	case '\b':
		if t.x > 0 {
			t.x--
		}
		t.wrap = false
	case '\t':
		t.x = min((t.x/8+1)*8, t.w-1)
		t.wrap = false
	case 0x1b:
		t.state = stEsc
	}
}

func (t *term) escape(c byte) {
	t.state = stGround
	switch c {
	case '[':
		t.state, t.params, t.param, t.has, t.priv = stCSI, t.params[:0], 0, false, false
	case ']', 'P', '_', '^', 'X':
		t.state = stString
	case '7':
		t.sx, t.sy = t.x, t.y
	case '8':
		t.x, t.y, t.wrap = t.sx, t.sy, false
	case 'D':
		t.lineFeed()
	case 'E':
		t.x = 0
		t.lineFeed()
	case 'M':
		if t.y == 0 {
			t.scrollDown(1)
		} else {
			t.y--
		}
	case 'c':
		t.clear()
		t.x, t.y = 0, 0
	default:
		if c >= 0x20 && c <= 0x2f {
			t.state = stEscInter
		}
	}
}

func (t *term) csiByte(c byte) {
	switch {
	case c >= '0' && c <= '9':
		t.param = min(t.param*10+int(c-'0'), 1<<16)
		t.has = true
	case c == ';' || c == ':':
		t.params = append(t.params, t.paramOr(-1))
		t.param, t.has = 0, false
	case c >= 0x3c && c <= 0x3f || c >= 0x20 && c <= 0x2f:
		t.priv = true
	case c >= 0x40 && c <= 0x7e:
		t.params = append(t.params, t.paramOr(-1))
		t.state = stGround
		t.csi(c)
	case c == 0x1b:
		t.state = stEsc
	case c == 0x18 || c == 0x1a:
		t.state = stGround
	}
}

func (t *term) paramOr(d int) int {
	if t.has {
		return t.param
	}
	return d
}

// arg returns parameter i, or d when it is missing or zero.
func (t *term) arg(i, d int) int {
	if i < len(t.params) && t.params[i] > 0 {
		return t.params[i]
	}
	return d
}

func (t *term) csi(f byte) {
	if t.priv {
		// Only the alternate screen matters: it shows other content.
		if (f == 'h' || f == 'l') && (t.arg(0, 0) == 1049 || t.arg(0, 0) == 47 || t.arg(0, 0) == 1047) {
			t.clear()
		}
		return
	}
	n := t.arg(0, 1)
	t.wrap = false
	switch f {
	case 'A':
		t.y = max(t.y-n, 0)
	case 'B', 'e':
		t.y = min(t.y+n, t.h-1)
	case 'C', 'a':
		t.x = min(t.x+n, t.w-1)
	case 'D':
		t.x = max(t.x-n, 0)
	case 'E':
		t.x, t.y = 0, min(t.y+n, t.h-1)
	case 'F':
		t.x, t.y = 0, max(t.y-n, 0)
	case 'G', '`':
		t.x = min(n, t.w) - 1
	case 'd':
		t.y = min(n, t.h) - 1
	case 'H', 'f':
		t.y, t.x = min(n, t.h)-1, min(t.arg(1, 1), t.w)-1
	case 'K':
		r := t.rows[t.y].cells
		switch t.arg(0, 0) {
		case 0:
			clearCells(r[t.x:])
		case 1:
			clearCells(r[:t.x+1])
		default:
			clearCells(r)
		}
	case 'J':
		switch t.arg(0, 0) {
		case 0:
			clearCells(t.rows[t.y].cells[t.x:])
			for _, r := range t.rows[t.y+1:] {
				clearCells(r.cells)
			}
		case 1:
			clearCells(t.rows[t.y].cells[:t.x+1])
			for _, r := range t.rows[:t.y] {
				clearCells(r.cells)
			}
		default:
			t.clear()
		}
	case 'X':
		clearCells(t.rows[t.y].cells[t.x:min(t.x+n, t.w)])
	case 'P':
		r := t.rows[t.y].cells
		k := copy(r[t.x:], r[min(t.x+n, t.w):])
		clearCells(r[t.x+k:])
		t.rows[t.y].touched = true
	case '@':
		r := t.rows[t.y].cells
		copy(r[min(t.x+n, t.w):], r[t.x:])
		clearCells(r[t.x:min(t.x+n, t.w)])
		t.rows[t.y].touched = true
	case 'L', 'M':
		t.shiftLines(f == 'L', n)
	case 'S':
		t.scrollUp(n)
	case 'T':
		t.scrollDown(n)
	case 's':
		t.sx, t.sy = t.x, t.y
	case 'u':
		t.x, t.y = t.sx, t.sy
	}
}

func clearCells(c []cell) {
	for i := range c {
		c[i] = cell{}
	}
}

func (t *term) clear() {
	for _, r := range t.rows {
		clearCells(r.cells)
	}
}

func (t *term) lineFeed() {
	t.wrap = false
	if t.y == t.h-1 {
		t.scrollUp(1)
		return
	}
	t.y++
}

func (t *term) scrollUp(n int) {
	n = min(n, t.h)
	for _, r := range t.rows[:n] {
		t.scrolledOff(r)
	}
	copy(t.rows, t.rows[n:])
	for i := t.h - n; i < t.h; i++ {
		t.rows[i] = t.newRow()
	}
}

func (t *term) scrollDown(n int) {
	n = min(n, t.h)
	for _, r := range t.rows[t.h-n:] {
		t.scrolledOff(r)
	}
	copy(t.rows[n:], t.rows[:t.h-n])
	for i := 0; i < n; i++ {
		t.rows[i] = t.newRow()
	}
}

// shiftLines inserts (or deletes) n blank lines at the cursor's row.
func (t *term) shiftLines(insert bool, n int) {
	n = min(n, t.h-t.y)
	rs := t.rows[t.y:]
	if insert {
		copy(rs[n:], rs[:len(rs)-n])
	} else {
		copy(rs, rs[n:])
		rs = rs[len(rs)-n:]
	}
	for i := 0; i < n; i++ {
		rs[i] = t.newRow()
	}
}

// print puts r, n bytes long from stream offset src, at the cursor.
func (t *term) print(r rune, src int64, n uint8) {
	wd := runeWidth(r)
	if wd == 0 {
		return
	}
	if t.wrap || t.x+wd > t.w {
		t.x = 0
		t.lineFeed()
	}
	line := t.rows[t.y]
	line.cells[t.x] = cell{ch: r, src: src, n: n}
	if wd == 2 {
		line.cells[t.x+1] = cell{ch: wideTail, src: src}
	}
	line.touched = true
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
