package masking

import "sync"

// Screen masks values that only a terminal's screen shows whole. A Stream
// reads the text of the byte stream; a program can instead assemble a value
// on the screen from pieces no byte run holds: cursor motion ("123-45-"
// then CSI 8 G and "6789" elsewhere in the output), save and restore,
// overwriting, control and zero-width characters between the digits,
// look-alike digits and hyphens. Screen keeps a model of the terminal (see
// screen_term.go), and after each chunk of output reads the rows the chunk
// changed, with fullwidth digits and letters, Unicode hyphens and minus
// signs read as their ASCII forms. When a recognizer finds a value there,
// the bytes of the chunk that drew part of it are masked in place (same
// length), so the value never appears whole on the client's screen nor in
// the recording. Bytes sent earlier cannot be taken back: the part of the
// value they drew stays, the part this chunk drew is masked.
//
// Limits: the model knows the terminal's size only as given (a resize it
// is not told about can place text differently); it reads one row at a
// time, so a value drawn down a column or with its context word on another
// row is not seen; and a program that draws each digit in a separate frame,
// seconds apart, at different positions, still shows the digits one after
// another. Cost: every output byte runs through the model, except lines
// printed in sequence that scroll off before anything but more such lines
// comes, within a chunk or across chunks (see skipPlain and
// screen_pending.go), and each chunk rescans the rows it changed otherwise
// than by printing in sequence that hold a digit, '@' or non-ASCII text.
//
// One Screen may serve several streams that end on the same terminal (a
// session's stdout and stderr): it is safe for concurrent use.
type Screen struct {
	m     *Masker
	mu    sync.Mutex
	fed   int64   // bytes fed to the model so far, from all streams
	terms []*term // models of the terminal at two sizes (see largeCols)
	// The text of the rows being read, the cell of each byte, and whether
	// it holds a digit, '@' or non-ASCII text.
	text        []byte
	where       []cellRef
	read        []*row
	interesting bool
	st          *Stream // reads text, reset for each read
	masked      []byte  // st's output, unused

	// The chunk being fed: its bytes, its position in everything fed and
	// in its stream, and the findings so far.
	cur       []byte
	base, off int64
	res       []Finding
}

// cellRef is the cell a byte of Screen.text was read from: column col of
// row read[r]; r is -1 for the newline after a row. It holds no pointer,
// so building where costs no write barriers.
type cellRef struct {
	r, col int32
}

// Default screen size, for a stream without a terminal size.
const (
	DefaultCols = 80
	DefaultRows = 24
)

// The size of the second, large model. The client's terminal may be larger
// than the model thinks (no size known, or resized since): on a larger
// terminal a line feed scrolls later and a column far right is not clamped,
// so a value assembled there is seen by a large model; one assembled by
// clamping to a small terminal's edge is seen by the first.
const (
	largeCols = 1000
	largeRows = 200
)

// NewScreen returns a Screen for a terminal of cols × rows cells (zero:
// the defaults). Without a size the stream has no terminal at the target,
// and reaches the client's terminal through a tty that turns each line feed
// into a carriage return and a line feed (onlcr): the model does the same.
// On a terminal session the target's pty does that translation itself, and
// a program that turns it off (stty -onlcr) gets bare line feeds.
func (m *Masker) NewScreen(cols, rows int) *Screen {
	onlcr := cols <= 0 && rows <= 0
	if cols <= 0 {
		cols = DefaultCols
	}
	if rows <= 0 {
		rows = DefaultRows
	}
	sc := &Screen{m: m.plain}
	for _, size := range [][2]int{{min(cols, largeCols), min(rows, largeRows)}, {largeCols, largeRows}} {
		t := newTerm(size[0], size[1])
		t.onlcr = onlcr
		t.spill = func(screen bool) { sc.check(t, screen) }
		sc.terms = append(sc.terms, t)
	}
	return sc
}

// Mask runs out, masked output that starts at stream offset off, through
// the model, masks in place the bytes of out that complete a value on the
// screen, and returns findings for them (recognizer, offsets in the
// stream, fingerprint of the value as the screen shows it).
func (s *Screen) Mask(out []byte, off int64) []Finding {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur, s.base, s.off, s.res = out, s.fed, off, nil
	s.fed += int64(len(out)) // cells remember their position in everything fed
	for _, t := range s.terms {
		t.feed(out, s.base)
		s.check(t, true)
	}
	s.cur = nil
	return s.res
}

// Interleave tells the model that another stream writes next: a row that
// two streams print in sequence is no text either stream's masker read.
func (s *Screen) Interleave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.terms {
		t.settle() // the lines held back were written before
		t.mark()
	}
}

// goneMax is how many rows scrolled off are checked together while a chunk
// is fed (their content is final), which bounds the memory of bulk output.
const goneMax = 64

// check reads the rows scrolled off since the last check, and with screen
// the changed rows on the screen too, and masks the bytes of the chunk
// being fed that complete a value there.
func (s *Screen) check(t *term, screen bool) {
	// The rows are read together only if one of them may hold a value;
	// cand is set on every row a digit, '@' or non-ASCII text was written
	// to, so when none has it, none is interesting.
	worth := false
	for _, r := range t.gone {
		worth = worth || r.tricky && r.cand
	}
	if screen {
		for _, r := range t.rows {
			worth = worth || r.touched && r.tricky && r.cand
		}
	}
	s.text, s.where, s.interesting = s.text[:0], s.where[:0], false
	clear(s.read)
	s.read = s.read[:0]
	for _, r := range t.gone {
		s.add(r, worth)
	}
	if screen {
		for _, r := range t.rows {
			if r.touched {
				s.add(r, worth)
			}
		}
	}
	if s.interesting {
		s.maskFound()
	}
	t.recycle()
}

// add marks r read, and with worth appends its text to s.text if it was
// written otherwise than in sequence (printed in sequence, the stream
// masker read it as text).
func (s *Screen) add(r *row, worth bool) {
	r.touched = false
	if !worth || !r.tricky {
		return
	}
	ri := int32(len(s.read))
	s.read = append(s.read, r)
	end := r.used
	for end > 0 && r.cells[end-1].ch == 0 {
		end-- // trailing blanks read as nothing
	}
	for col, c := range r.cells[:end] {
		if c.ch == wideTail {
			continue
		}
		b := screenByte(c.ch)
		s.interesting = s.interesting || isDigit(b) || b == '@' || b >= 0x80
		s.text = append(s.text, b)
		s.where = append(s.where, cellRef{ri, int32(col)})
	}
	s.text = append(s.text, '\n')
	s.where = append(s.where, cellRef{-1, 0})
}

// maskFound masks what the recognizers find in s.text.
func (s *Screen) maskFound() {
	if s.st == nil {
		s.st = s.m.NewStream()
	} else {
		s.st.reset()
	}
	s.masked = s.st.AppendWrite(s.masked[:0], s.text)
	s.masked = s.st.AppendFlush(s.masked)
	found := s.st.Findings()
	out, base := s.cur, s.base
	end := base + int64(len(out))
	for _, f := range found {
		first, last := int64(-1), int64(-1)
		for k := f.Offset; k < f.Offset+int64(f.Length); k++ {
			ref := s.where[k]
			if ref.r < 0 {
				continue
			}
			c := &s.read[ref.r].cells[ref.col]
			// A character cut by the end of the last chunk ends in
			// this one: its last bytes are masked, and it does not show.
			from, to := max(c.src, base), min(c.src+int64(c.n), end)
			if c.ch == 0 || from >= to {
				continue
			}
			for i := from; i < to; i++ {
				if b := out[i-base]; isAlnum(b) || b >= 0x80 {
					out[i-base] = '*'
				}
			}
			c.ch = '*'
			if first < 0 {
				first = from
			}
			last = max(last, to)
		}
		if first >= 0 {
			s.res = append(s.res, Finding{Recognizer: f.Recognizer, Offset: s.off + first - base, Length: int(last - first), Fingerprint: f.Fingerprint})
		}
	}
}

// screenByte is the byte a recognizer reads for a character on the screen:
// ASCII as it is, look-alikes of digits, letters and hyphens as their ASCII
// forms, a blank as a space, and anything else as 0x80 (neither a letter
// nor a digit nor a delimiter).
func screenByte(r rune) byte {
	switch {
	case r == 0:
		return ' '
	case r < 0x80:
		return byte(r)
	case r >= 0xff10 && r <= 0xff19: // fullwidth digits
		return byte(r - 0xff10 + '0')
	case r >= 0xff21 && r <= 0xff3a: // fullwidth capitals
		return byte(r - 0xff21 + 'A')
	case r >= 0xff41 && r <= 0xff5a: // fullwidth small letters
		return byte(r - 0xff41 + 'a')
	case r >= 0x2010 && r <= 0x2015, r == 0x2212, r == 0xfe63, r == 0xff0d, r == 0x2043:
		return '-'
	case r == 0xff0e:
		return '.'
	case r == 0xff20:
		return '@'
	case r == 0x3000 || r == 0xa0 || r >= 0x2000 && r <= 0x200a:
		return ' '
	}
	return 0x80
}
