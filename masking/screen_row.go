package masking

// A row of the terminal model: its cells, and what the Screen needs to know
// of how they were written.

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

func clearCells(c []cell) {
	for i := range c {
		c[i] = cell{}
	}
}
