package masking

import "unicode/utf8"

// A term is the terminal model behind Screen: enough of a VT100/xterm to
// know which character each byte of output puts in which cell. It follows
// printing, autowrap, CR/LF/BS/TAB, cursor motion (CUU, CUD, CUF, CUB, CNL,
// CPL, CHA, HPA, VPA, CUP, HVP), save and restore (ESC 7/8, CSI s/u),
// erasing (EL, ED, ECH), inserting and deleting characters (ICH, DCH) and
// lines (IL, DL), scrolling (IND, RI, NEL, SU, SD) within the scrolling
// region (DECSTBM), insert mode (IRM), autowrap off (DECAWM), tab stops
// (HTS, TBC) and the alternate screen (the main screen comes back on
// exit). Colours and modes do not change what is shown and are skipped; so
// are string sequences (OSC, DCS, APC, PM, SOS), NUL, SI, SO and the other
// controls, and zero-width characters.
//
// Its parts: the parser (screen_parse.go), printing (screen_print.go),
// moving rows (screen_scroll.go), rows and cells (screen_row.go), reading
// rows before an erase (screen_erase.go), and passing over plain lines
// (screen_plain.go).
type term struct {
	w, h  int
	onlcr bool   // a line feed also returns the cursor (see Screen)
	rows  []*row // a window of rowBuf (see scrollUp)
	// rowBuf holds the rows' pointers; rows slides over it as the whole
	// screen scrolls.
	rowBuf []*row
	gone   []*row // touched tricky rows scrolled off since the last check
	free   []*row // rows to reuse
	// spill checks gone (and with screen, the changed rows on the screen):
	// when gone holds goneMax rows, and before anything is erased, so that
	// what a chunk shows and then erases is read too.
	spill  func(screen bool)
	x, y   int
	wrap   bool // the last column was printed: the next character wraps
	sx, sy int  // saved cursor

	top, bot int    // scrolling region, rows top..bot
	main     []*row // the main screen while the alternate one shows
	mainBuf  []*row // its rowBuf
	insert   bool   // IRM: printing shifts the rest of the line right
	noWrap   bool   // DECAWM off: printing at the margin overwrites
	tabs     []bool // tab stops by column

	state  int
	params []int
	param  int
	has    bool // a digit of the current parameter was seen
	priv   bool // CSI with a private marker or intermediates
	quest  bool // CSI with the '?' marker (DEC private modes)
	csiSt  byte // csiEntry, csiParam, csiInter or csiIgnore (see csiScan)
	utf    [utf8.UTFMax]byte
	utfN   int
	utfSrc int64

	plain      []plainLine // scratch of skipPlain
	plainNext  int64       // stream offset before which skipPlain is not tried
	plainPause int         // bytes it pauses after a run it could not skip

	pend pending // plain lines not drawn yet (see feed)
}

func newTerm(w, h int) *term {
	t := &term{w: max(w, 2), h: max(h, 1)}
	t.bot = t.h - 1
	t.tabs = make([]bool, t.w)
	for x := 8; x < t.w; x += 8 {
		t.tabs[x] = true
	}
	t.rows = make([]*row, t.h)
	t.rowBuf = t.rows
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

// scrolledOff notes a row leaving the screen. Only a changed tricky row is
// ever read (Screen.add), so only those wait in gone: how many rows a
// check reads together does not depend on how many plain rows scrolled
// off between them, which the shortcuts for plain lines change (see
// skipPlain and feed).
func (t *term) scrolledOff(r *row) {
	if !r.touched || !r.tricky {
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
