package masking

import (
	"bytes"
	"unicode/utf8"

	"github.com/bastion-ssh/bastion/internal/bytescan"
	"github.com/charmbracelet/x/ansi"
)

// The tokenizer splits the raw stream into text and escape sequences. Escape
// sequences are recognised by the VT parser of github.com/charmbracelet/x/ansi
// (ansi.DecodeSequence); text is everything else, byte for byte, including
// control characters and invalid UTF-8. Only ESC (0x1b) starts a sequence:
// 8-bit C1 bytes are not interpreted, as UTF-8 terminals do not interpret
// them either, so they pass through as (invalid) text. CSI sequences are
// parsed here instead (csiScan), to their final byte as terminals do: the
// parser ends one early where a terminal ignores it to its final byte, and
// would leave its drawn-around rest as text. C1 controls encoded
// in UTF-8 (0xc2 0x80..0x9f) would be read as text too, but terminals run
// (VTE, wezterm) or drop (xterm, ghostty) them; Paced's string filter has
// turned each into ESC \ before a Stream behind it sees them (strings.go).
//
// A sequence cut by a chunk boundary is not held back: the bytes consumed so
// far cannot be text whatever follows, so they are committed and the parser
// state is kept. To continue, the decoder is fed a short synthetic prefix
// that puts it back in the same state (see escState.intro).

const esc = 0x1b

// escPiece bounds the bytes decoded per call while continuing a long string
// sequence (OSC, DCS, APC, ...), which keeps the scratch buffer small.
const escPiece = 4096

// csiBreaks are the final bytes of CSI sequences that move the cursor or
// shift text on the line; such a sequence separates the text on either side.
// SGR ('m') and erase ('K', 'J', 'X') do not, so "123-\x1b[31m45\x1b[m-6789"
// still reads as one number (grep --color emits "\x1b[K" inside matches).
const csiBreaks = "@ABCDEFGHILMPSTZ`adefru"

// escState is the state of an escape sequence cut by a chunk boundary.
type escState struct {
	active bool
	state  byte    // ansi parser state after the bytes consumed so far
	second byte    // the byte after ESC; 0 if not received yet
	flags  bool    // an intermediate or private-marker byte was seen
	csi    csiScan // the state of a CSI (second '['), parsed by scan
	start  int64   // stream offset of the ESC
}

// CSI parser states, as DEC STD 070 names them.
const (
	csiEntry = iota
	csiParam
	csiInter
	csiIgnore
)

// csiScan parses CSI sequences as terminals do (DEC STD 070; xterm, VTE,
// the vte crate), not with ansi.DecodeSequence, which ends a CSI early at
// a private marker after a parameter, a parameter byte after an
// intermediate, a C0 control or DEL, and leaves the rest to be read as
// text. A terminal moves such a CSI into its ignore state, which runs to
// the final byte and dispatches nothing; C0 controls inside any CSI run
// and DEL is dropped. So "123-45-\x1b[1?m6789" is drawn 123-45-6789.
type csiScan struct {
	state byte
	flags bool // a private marker or intermediate: no break dispatches
	moved bool // a C0 control inside moved the cursor
}

// cursorC0 reports the C0 controls that move the cursor.
var cursorC0 = [0x20]bool{'\b': true, '\t': true, '\n': true, '\v': true, '\f': true, '\r': true}

// scan parses data, which continues the sequence, and returns how many of
// its bytes belong to it and whether the sequence ended: at its final byte
// (0x40-0x7e), or before ESC, CAN or SUB, which abort it, or a byte of
// 0x80 and above (then read as text, as the parser did).
func (c *csiScan) scan(data []byte) (n int, done bool) {
	for i, b := range data {
		switch {
		case b >= 0x40 && b <= 0x7e:
			return i + 1, true
		case b == esc || b == 0x18 || b == 0x1a || b >= 0x80:
			return i, true
		case b < 0x20:
			c.moved = c.moved || cursorC0[b]
		case b == 0x7f:
		case b <= 0x2f: // intermediate
			if c.state != csiIgnore {
				c.state, c.flags = csiInter, true
			}
		case b >= 0x3c && c.state == csiEntry: // private marker
			c.state, c.flags = csiParam, true
		case b >= 0x3c || c.state == csiInter:
			c.state = csiIgnore
		case c.state == csiEntry: // digits, ':' and ';'
			c.state = csiParam
		}
	}
	return len(data), false
}

// brk reports whether the sequence that ended with last (its last byte, or
// 0 if it ended with "ESC [") separates the visible text around it: it
// moved the cursor with a C0 control, or it dispatches a break.
func (c *csiScan) brk(last byte) bool {
	return c.moved || c.state != csiIgnore && !c.flags && csiBreak[last] && last >= 0x40
}

// intro returns bytes that bring ansi.DecodeSequence to the saved state: the
// parser's behaviour depends only on the state, the second byte (ESC P is a
// DCS, ESC ] an OSC) and, for ESC sequences, whether intermediates were seen.
func (e *escState) intro() string {
	dcs := e.second == 'P'
	switch e.state {
	case ansi.EscapeState:
		if e.flags {
			return "\x1b "
		}
		return "\x1b"
	case ansi.PrefixState:
		if dcs {
			return "\x1bP"
		}
		return "\x1b["
	case ansi.ParamsState:
		if dcs {
			return "\x1bP0"
		}
		return "\x1b[0"
	case ansi.IntermedState:
		if dcs {
			return "\x1bP "
		}
		return "\x1b[ "
	default: // ansi.StringState
		if e.second == ']' {
			return "\x1b]"
		}
		return "\x1bX"
	}
}

// seqFlags reports whether b holds an intermediate (0x20-0x2f) or private
// marker (0x3c-0x3f) byte.
func seqFlags(b []byte) bool {
	for _, c := range b {
		if c >= 0x20 && c <= 0x2f || c >= 0x3c && c <= 0x3f {
			return true
		}
	}
	return false
}

var csiBreak, escBreak = func() (csi, esc [256]bool) {
	for i := 0; i < len(csiBreaks); i++ {
		csi[csiBreaks[i]] = true
	}
	for _, c := range "78DEMc" {
		esc[c] = true
	}
	return csi, esc
}()

// isBreak reports whether a complete escape sequence of n bytes separates
// the visible text around it. flags reports intermediate or private-marker
// bytes (which no break has); it is called only when needed.
func isBreak(second byte, last byte, n int64, flags func() bool) bool {
	if second == '[' {
		return n >= 3 && csiBreak[last] && !flags()
	}
	return n == 2 && escBreak[second]
}

// partialRune returns the length of an incomplete UTF-8 sequence at the end
// of b (0 if there is none).
func partialRune(b []byte) int {
	for k := 1; k <= 3 && k <= len(b); k++ {
		c := b[len(b)-k]
		if c < 0x80 {
			return 0
		}
		if c >= 0xc0 {
			if utf8.FullRune(b[len(b)-k:]) {
				return 0
			}
			return k
		}
	}
	return 0
}

// holdTail removes from the end of a sequence's bytes what must wait for
// more input: an ESC that may start the terminator ESC \ (the parser would
// otherwise cancel the string at the end of the input), and an incomplete
// UTF-8 character inside a string, which must not be emitted split (an
// asciicast recording stores output as JSON strings). It keeps at least
// keep bytes (the ESC that starts a new sequence).
func holdTail(data []byte, keep int) []byte {
	n := len(data)
	if n > keep && data[n-1] == esc {
		return data[:n-1]
	}
	if k := partialRune(data); n-k >= keep {
		return data[:n-k]
	}
	return data
}

// tokenize consumes the raw bytes after rawTok into the projection. Unless
// final, it stops before an incomplete UTF-8 character and before the tail
// of an escape sequence that holdTail keeps.
func (s *Stream) tokenize(final bool) {
	raw := s.raw[s.rawOff:]
	i := int(s.rawTok - s.rawBase)
	// Most output has no invisible control at all: checked at once with
	// the vector code, its text goes to the projection without a look at
	// each segment (appendText's check costs more on short segments).
	quiet := bytescan.Vectorized() && invisible.IndexTrigger(raw[i:], 0) == len(raw)-i
	for i < len(raw) {
		if s.esc.active {
			n := s.continueEscape(raw[i:], s.rawBase+int64(i), final)
			if n == 0 && s.esc.active {
				break // only an ESC that may start a terminator is left
			}
			i += n
			continue
		}
		// Sequences often follow one another ("\x1b[0m\x1b[01;34m"):
		// look at the next byte before calling out.
		j := 0
		if raw[i] != esc {
			j = bytes.IndexByte(raw[i:], esc)
		}
		end := len(raw)
		if j >= 0 {
			end = i + j
		} else if !final {
			end -= partialRune(raw[i:])
		}
		if end > i && quiet {
			s.appendVisible(s.rawBase+int64(i), raw[i:end])
		} else if end > i {
			s.appendText(s.rawBase+int64(i), raw[i:end])
		}
		i = end
		if j < 0 {
			break
		}
		i += s.decodeEscape(raw[i:], s.rawBase+int64(i), final)
	}
	s.rawTok = s.rawBase + int64(i)
}

// decodeEscape decodes the sequence starting at data[0] (an ESC) found at
// stream offset off and returns the number of bytes consumed.
func (s *Stream) decodeEscape(data []byte, off int64, final bool) int {
	if n := plainCSI(data); n > 0 {
		if csiBreak[data[n-1]] {
			s.appendBreak(off, off+int64(n))
		}
		return n
	}
	if n, brk, ok := s.memo.lookup(data); ok {
		if brk {
			s.appendBreak(off, off+int64(n))
		}
		return n
	}
	if len(data) > 1 && data[1] == '[' {
		var c csiScan
		n, done := c.scan(data[2:])
		n += 2
		if !done {
			s.esc = escState{active: true, second: '[', csi: c, start: off}
			return n
		}
		brk := c.brk(data[n-1])
		if brk {
			s.appendBreak(off, off+int64(n))
		}
		s.memo.store(data[:n], brk)
		return n
	}
	if len(data) > escPiece {
		data = data[:escPiece]
	}
	seq, _, n, st := ansi.DecodeSequence(data, ansi.NormalState, nil)
	if !final && (st != ansi.NormalState || n+4 > len(data)) {
		// The end of the input may have decided the outcome: decode again
		// without the tail that must wait for more.
		data = holdTail(data, 1)
		seq, _, n, st = ansi.DecodeSequence(data, ansi.NormalState, nil)
	}
	var second byte
	if len(data) > 1 {
		second = data[1]
	}
	if st != ansi.NormalState {
		s.esc = escState{active: true, state: st, second: second, flags: seqFlags(data[1:]), start: off}
		return len(data)
	}
	if n > 1 {
		second = seq[1]
	} else {
		second = 0
	}
	brk := isBreak(second, seq[n-1], int64(n), func() bool { return seqFlags(seq[1:]) })
	if brk {
		s.appendBreak(off, off+int64(n))
	}
	s.memo.store(seq, brk)
	return n
}

// plainCSI returns the length of the CSI sequence at the start of data if
// it has only digits and ';' between "ESC [" and a final byte (SGR colours,
// erase in line, cursor motion: most of what programs send), and 0
// otherwise. The parser ends such a sequence at its final byte without
// looking further and reads no flags in it, so this is what
// ansi.DecodeSequence would return, without its state machine
// (TestPlainCSI compares the two).
func plainCSI(data []byte) int {
	if len(data) < 3 || data[1] != '[' {
		return 0
	}
	for i := 2; i < len(data) && i < maxPlainCSI; i++ {
		switch c := data[i]; {
		case c >= '0' && c <= '9' || c == ';':
		case c >= 0x40 && c <= 0x7e:
			return i + 1
		default:
			return 0
		}
	}
	return 0
}

// maxPlainCSI bounds the sequences plainCSI reads; longer ones take the
// parser.
const maxPlainCSI = 32

// csiMemo remembers recently decoded CSI sequences. Programs repeat a few
// (SGR colours, erase to end of line) over and over. A CSI sequence ends at
// its final byte, which the parser decides without looking further, so input
// that starts with a remembered sequence decodes to that same sequence.
type csiMemo [16]struct {
	n   int
	seq [14]byte
	brk bool
}

func memoSlot(b []byte) int { return int(b[2]*7+b[3]) & 15 }

func (m *csiMemo) lookup(b []byte) (n int, brk, ok bool) {
	if len(b) < 4 || b[1] != '[' {
		return 0, false, false
	}
	e := &m[memoSlot(b)]
	if e.n == 0 || len(b) < e.n || string(b[:e.n]) != string(e.seq[:e.n]) {
		return 0, false, false
	}
	return e.n, e.brk, true
}

func (m *csiMemo) store(seq []byte, brk bool) {
	n := len(seq)
	if n < 4 || n > len(m[0].seq) || seq[1] != '[' || seq[n-1] < 0x40 || seq[n-1] > 0x7e {
		return
	}
	e := &m[memoSlot(seq)]
	e.n, e.brk = n, brk
	copy(e.seq[:], seq)
}

// continueEscape continues a sequence cut by a chunk boundary and returns
// the number of bytes of data consumed.
func (s *Stream) continueEscape(data []byte, off int64, final bool) int {
	if len(data) > 0 && s.esc.second == 0 && s.esc.state == ansi.EscapeState && !s.esc.flags && data[0] == '[' {
		s.esc.second, s.esc.csi = '[', csiScan{}
		return 1 + s.continueCSI(data[1:], off+1)
	}
	if s.esc.second == '[' {
		return s.continueCSI(data, off)
	}
	if !final {
		data = holdTail(data, 0)
	}
	if len(data) == 0 {
		return 0
	}
	if len(data) > escPiece {
		data = data[:escPiece]
	}
	intro := s.esc.intro()
	s.scratch = append(append(s.scratch[:0], intro...), data...)
	_, _, n, st := ansi.DecodeSequence(s.scratch, ansi.NormalState, nil)
	if s.esc.second == 0 {
		s.esc.second = data[0]
	}
	if st != ansi.NormalState {
		s.esc.state = st
		s.esc.flags = s.esc.flags || seqFlags(data)
		return len(data)
	}
	used := max(n-len(intro), 0)
	var last byte
	if used > 0 {
		last = data[used-1]
	}
	s.esc.active = false
	start, end := s.esc.start, off+int64(used)
	if isBreak(s.esc.second, last, end-start, func() bool { return s.esc.flags || seqFlags(data[:used]) }) {
		s.appendBreak(start, end)
	}
	return used
}

// continueCSI continues a CSI sequence cut by a chunk boundary and returns
// the number of bytes of data consumed.
func (s *Stream) continueCSI(data []byte, off int64) int {
	n, done := s.esc.csi.scan(data)
	if !done {
		return n
	}
	s.esc.active = false
	var last byte
	if n > 0 {
		last = data[n-1]
	}
	if s.esc.csi.brk(last) {
		s.appendBreak(s.esc.start, off+int64(n))
	}
	return n
}
