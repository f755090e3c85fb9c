package masking

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
)

// The terminal model behind Screen: enough of a VT100/xterm to know which
// character each byte of output puts in which cell. It follows printing,
// autowrap, CR/LF/BS/TAB, cursor motion (CUU, CUD, CUF, CUB, CNL, CPL, CHA,
// HPA, VPA, CUP, HVP), save and restore (ESC 7/8, CSI s/u), erasing (EL,
// ED, ECH), inserting and deleting characters (ICH, DCH) and lines (IL,
// DL), scrolling (IND, RI, NEL, SU, SD) within the scrolling region
// (DECSTBM), insert mode (IRM), autowrap off (DECAWM), tab stops (HTS,
// TBC) and the alternate screen (the main screen comes back on exit). Colours and modes do not change what is shown and
// are skipped; so are string sequences (OSC, DCS, APC, PM, SOS), NUL, SI,
// SO and the other controls, and zero-width characters.

type cell struct {
	src int64 // stream offset of the character's first byte
	ch  rune  // 0: blank; wideTail: the right half of a wide character
	n   uint8 // its length in bytes
}

const wideTail = -1

type row struct {
	cells   []cell
	touched bool // written since the last check
	// end is the column after the last character printed; tricky says the
	// row was written otherwise than by printing in sequence (cursor
	// motion, overwrites, controls, zero-width or look-alike characters,
	// two streams). Only tricky rows can show a value the byte stream did
	// not hold as text, so only they are read (bulk output costs little).
	end    int
	tricky bool
	// cand says a digit, '@' or non-ASCII character was written to the row
	// since it was last recycled: without one it holds no value to find.
	cand bool
	esc  int // bytes of escape sequences between its characters
	used int // cells beyond this are blank
}

// blank clears the row's cells (only those ever written: a row of the
// large model is wide).
func (r *row) blank() {
	clearCells(r.cells[:r.used])
	r.used = 0
}

// clear clears columns from..to-1, of those ever written.
func (r *row) clear(from, to int) {
	if from >= r.used {
		return
	}
	clearCells(r.cells[from:min(to, r.used)])
	if to >= r.used {
		r.used = from
	}
}

// escTricky is the escape bytes in a row past which its text may hold a
// value with more escape bytes inside than a Stream holds (MaxHold).
const escTricky = 64

// mark makes the cursor's row tricky.
func (t *term) mark() { t.rows[t.y].tricky = true }

// escBytes counts a byte of an escape sequence on the cursor's row.
func (t *term) escBytes() {
	r := t.rows[t.y]
	r.esc++
	if r.esc > escTricky {
		r.tricky = true
	}
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
	w, h  int
	onlcr bool // a line feed also returns the cursor (see Screen)
	rows  []*row
	gone  []*row // touched rows scrolled off since the last check
	free  []*row // rows to reuse
	// spill checks gone (and with screen, the changed rows on the screen):
	// when gone holds goneMax rows, and before anything is erased, so that
	// what a chunk shows and then erases is read too.
	spill  func(screen bool)
	x, y   int
	wrap   bool // the last column was printed: the next character wraps
	sx, sy int  // saved cursor

	top, bot int    // scrolling region, rows top..bot
	main     []*row // the main screen while the alternate one shows
	insert   bool   // IRM: printing shifts the rest of the line right
	noWrap   bool   // DECAWM off: printing at the margin overwrites
	tabs     []bool // tab stops by column

	state  int
	params []int
	param  int
	has    bool // a digit of the current parameter was seen
	priv   bool // CSI with a private marker or intermediates
	quest  bool // CSI with the '?' marker (DEC private modes)
	utf    [utf8.UTFMax]byte
	utfN   int
	utfSrc int64

	plain      []plainLine // scratch of skipPlain
	plainNext  int64       // stream offset before which skipPlain is not tried
	plainPause int         // bytes it pauses after a run it could not skip
}

func newTerm(w, h int) *term {
	t := &term{w: max(w, 2), h: max(h, 1)}
	t.bot = t.h - 1
	t.tabs = make([]bool, t.w)
	for x := 8; x < t.w; x += 8 {
		t.tabs[x] = true
	}
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
		r.blank()
		r.touched, r.end, r.tricky, r.cand, r.esc = false, 0, false, false, 0
		return r
	}
	return &row{} // cells are allocated when the row is first written
}

// line returns the cells of row y, at least n of them (n <= t.w). A row
// holds cells only up to the columns written so far, growing as needed:
// most rows of the large model hold a line far shorter than its width.
// Cells from the row's used mark on are blank.
func (t *term) line(y, n int) []cell {
	r := t.rows[y]
	if len(r.cells) < n {
		c := make([]cell, min(t.w, max(n, 2*len(r.cells))))
		copy(c, r.cells)
		r.cells = c
	}
	return r.cells
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
		t.spill(false)
	}
}

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

// feed runs b, which starts at stream offset off, through the model.
func (t *term) feed(b []byte, off int64) {
	for i := 0; i < len(b); i++ {
		if off+int64(i) >= t.plainNext && t.atFreshRow() {
			i += t.skipPlain(b[i:], off+int64(i))
		}
		c := b[i]
		switch t.state {
		case stGround:
			if c >= 0x80 || t.utfN > 0 {
				t.utf8Byte(c, off+int64(i))
				continue
			}
			if c >= 0x20 && c < 0x7f {
				j := i + 1
				for j < len(b) && b[j] >= 0x20 && b[j] < 0x7f {
					j++
				}
				t.printASCII(b[i:j], off+int64(i))
				i = j - 1
				continue
			}
			if markOnly[c] { // a run of them marks the row once (NUL output)
				j := i + 1
				for j < len(b) && markOnly[b[j]] {
					j++
				}
				t.mark()
				i = j - 1
				continue
			}
			t.control(c)
		case stEsc:
			t.escBytes()
			t.escape(c)
		case stEscInter:
			t.state = stGround
		case stCSI:
			t.escBytes()
			t.csiByte(c)
		case stString:
			t.escBytes()
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

// markOnly reports the controls that show nothing and only make the
// cursor's row tricky (control's default case).
var markOnly = func() (m [256]bool) {
	for c := range 0x20 {
		m[c] = !strings.ContainsRune("\r\n\v\f\b\t\x1b", rune(c))
	}
	m[0x7f] = true
	return m
}()

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
		t.x++
		for t.x < t.w-1 && !t.tabs[t.x] {
			t.x++
		}
		t.x = min(t.x, t.w-1)
		t.wrap = false
	case 0x1b:
		t.state = stEsc
	default:
		t.mark() // NUL, SI, SO, BEL...: nothing on the screen, text to the masker
	}
}

func (t *term) escape(c byte) {
	t.state = stGround
	if c != '[' && !isStringIntro(c) {
		t.mark()
		defer t.mark()
	}
	switch c {
	case '[':
		t.state, t.params, t.param, t.has, t.priv, t.quest = stCSI, t.params[:0], 0, false, false, false
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
		if t.y == t.top {
			t.scrollDown(1)
		} else if t.y > 0 {
			t.y--
		}
	case 'H':
		t.tabs[t.x] = true
	case 'c':
		t.beforeErase()
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
		t.quest = t.quest || c == '?'
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
		if t.quest && (f == 'h' || f == 'l') {
			for _, p := range t.params {
				switch p {
				case 47, 1047, 1049:
					t.altScreen(f == 'h', p == 1049)
				case 7:
					t.noWrap = f == 'l'
				}
			}
		}
		return
	}
	if f == 'm' || f == 'K' && t.arg(0, 0) == 0 && !t.wrap && t.x >= t.rows[t.y].used {
		// Colours, and an erase to the end of the row where nothing is
		// (grep --color ends each match so): the screen shows what it
		// showed, and the masker reads through both.
		return
	}
	t.mark()
	defer t.mark() // the row the cursor moved to
	n := t.arg(0, 1)
	t.wrap = false
	if t.erases(f, n) {
		t.beforeErase()
	}
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
		switch t.arg(0, 0) {
		case 0:
			t.rows[t.y].clear(t.x, t.w)
		case 1:
			t.rows[t.y].clear(0, t.x+1)
		default:
			t.rows[t.y].blank()
		}
	case 'J':
		switch t.arg(0, 0) {
		case 0:
			t.rows[t.y].clear(t.x, t.w)
			for _, r := range t.rows[t.y+1:] {
				r.blank()
			}
		case 1:
			t.rows[t.y].clear(0, t.x+1)
			for _, r := range t.rows[:t.y] {
				r.blank()
			}
		default:
			t.clear()
		}
	case 'X':
		t.rows[t.y].clear(t.x, t.x+n)
	case 'P':
		r := t.rows[t.y]
		if t.x < r.used { // cells from used on are blank
			k := copy(r.cells[t.x:r.used], r.cells[min(t.x+n, r.used):r.used])
			r.clear(t.x+k, r.used)
		}
		r.touched = true
	case '@':
		row := t.rows[t.y]
		row.used = min(t.w, row.used+n)
		r := t.line(t.y, max(row.used, min(t.x+n, t.w)))
		if to := min(t.x+n, t.w); to < row.used { // cells from used on are blank
			copy(r[to:row.used], r[t.x:])
		}
		clearCells(r[t.x:min(t.x+n, t.w)])
		row.touched = true
	case 'L', 'M':
		t.shiftLines(f == 'L', n)
	case 'S':
		t.scrollUp(n)
	case 'T':
		t.scrollDown(n)
	case 'h', 'l':
		for _, p := range t.params {
			if p == 4 {
				t.insert = f == 'h'
			}
		}
	case 'r':
		t.top, t.bot = t.arg(0, 1)-1, min(t.arg(1, t.h), t.h)-1
		if t.top >= t.bot {
			t.top, t.bot = 0, t.h-1
		}
		t.x, t.y = 0, 0
	case 'g':
		switch t.arg(0, 0) {
		case 0:
			t.tabs[t.x] = false
		case 3:
			clear(t.tabs)
		}
	case 's':
		t.sx, t.sy = t.x, t.y
	case 'u':
		t.x, t.y = t.sx, t.sy
	}
	if f == 'K' || f == 'J' || f == 'X' {
		// What the erase left of the cursor's row may show a value the
		// erased characters kept apart ("123-45-67890", then the 0
		// erased): the row is read again.
		t.rows[t.y].touched = true
	}
}

func clearCells(c []cell) {
	for i := range c {
		c[i] = cell{}
	}
}

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
		t.main = t.rows
		t.rows = make([]*row, t.h)
		for i := range t.rows {
			t.rows[i] = t.newRow()
		}
		return
	}
	for _, r := range t.rows {
		t.scrolledOff(r)
	}
	t.rows, t.main = t.main, nil
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
			buf := make([]*row, t.h, scrollBuf*t.h)
			copy(buf, t.rows)
			t.rows = buf
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
// before they are moved back to the start of a new buffer.
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
