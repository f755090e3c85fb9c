package masking

import (
	"strings"
	"unicode/utf8"

	"github.com/bastion-ssh/bastion/internal/nulrun"
)

// The terminal model's parser: what each byte of output does, printing,
// a control, or part of an escape or control sequence.

// Parser states.
const (
	stGround = iota
	stEsc
	stEscInter // ESC followed by intermediates: one more byte ends it
	stCSI
	stString    // OSC, DCS, APC, PM, SOS: until BEL or ST
	stStringEsc // ESC inside a string: '\\' ends it
)

// draw runs b, which starts at stream offset off, through the model, from
// b[start] on (the bytes before it are plain lines that scroll off unread,
// see skipPlain). With mayHold, plain lines that end b are held back (see
// feed) rather than drawn.
func (t *term) draw(b []byte, off int64, start int, mayHold bool) {
	for i := start; i < len(b); i++ {
		if off+int64(i) >= t.plainNext && t.atFreshRow() {
			skip, run, open := t.plainRun(b[i:])
			var held bool
			if i, held = t.passPlain(b, off, i, skip, run, open, mayHold); held {
				return
			}
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
				t.mark()
				i += markOnlyRun(b[i:]) - 1
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
		if !utf8Lead[c] {
			return // invalid alone, and shows nothing (binary output)
		}
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
		var held [utf8.UTFMax]byte
		b := held[:copy(held[:], t.utf[n:n+rest])]
		for k, c := range b {
			if c < 0x80 {
				t.draw(b[k:], t.utfSrc+int64(n+k), 0, false)
				return
			}
			t.utf8Byte(c, t.utfSrc+int64(n+k))
		}
	}
}

// utf8Lead reports the bytes of 0x80 and above that may start a UTF-8
// sequence of two or more bytes; any other such byte is a sequence of
// its own that decodes to nothing (utf8.RuneError, one byte).
var utf8Lead = func() (m [256]bool) {
	for c := 0xC2; c <= 0xF4; c++ {
		m[c] = true
	}
	return m
}()

// markOnly reports the controls that show nothing and only make the
// cursor's row tricky (control's default case).
var markOnly = func() (m [256]bool) {
	for c := range 0x20 {
		m[c] = !strings.ContainsRune("\r\n\v\f\b\t\x1b", rune(c))
	}
	m[0x7f] = true
	return m
}()

// markOnlyRun returns the length of the run of markOnly controls that b
// starts with. NUL output (/dev/zero, padding, binary files) is the common
// run: it passes NULs a word at a time.
func markOnlyRun(b []byte) int {
	i := 0
	for i < len(b) {
		if n := nulrun.Words(b[i:]); n > 0 {
			i += n
			continue
		}
		if !markOnly[b[i]] {
			break
		}
		i++
	}
	return i
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
		t.csiSt = csiEntry
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

// csiByte parses a byte of a CSI sequence as terminals do (see csiScan): a
// private marker after a parameter or a parameter byte after an
// intermediate makes the sequence one that dispatches nothing, C0 controls
// run inside it, ESC, CAN and SUB abort it, DEL is dropped.
func (t *term) csiByte(c byte) {
	switch {
	case c >= 0x40 && c <= 0x7e:
		t.state = stGround
		if t.csiSt != csiIgnore {
			t.params = append(t.params, t.paramOr(-1))
			t.csi(c)
		}
	case c == 0x18 || c == 0x1a:
		t.state = stGround
	case c < 0x20:
		t.control(c) // ESC starts an escape sequence there
	case c == 0x7f || t.csiSt == csiIgnore || c >= 0x80:
	case c <= 0x2f:
		t.csiSt, t.priv = csiInter, true
	case c >= 0x3c && t.csiSt == csiEntry:
		t.csiSt, t.priv, t.quest = csiParam, true, c == '?'
	case c >= 0x3c || t.csiSt == csiInter:
		t.csiSt = csiIgnore
	case c == ';' || c == ':':
		t.csiSt = csiParam
		t.params = append(t.params, t.paramOr(-1))
		t.param, t.has = 0, false
	default:
		t.csiSt = csiParam
		t.param = min(t.param*10+int(c-'0'), 1<<16)
		t.has = true
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
