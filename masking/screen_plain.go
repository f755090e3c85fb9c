package masking

import (
	"bytes"
	"encoding/binary"
)

// Bulk output through the screen model: most of it is lines of text
// printed one after another, each starting at the left edge of a new row
// at the bottom of the screen and scrolling off the top h rows later. Such
// a row is written in sequence (not tricky), so the model never reads it:
// the stream masker has read its text already. The model must still follow
// the rows that stay on the screen, since later output can move the cursor
// back over them and complete a value there; but a row that scrolls off
// before anything else touches it needs no cells at all. plainRun finds
// those rows' lines, skipPlain says which, and draw passes over them; the
// lines that end a chunk are held back for the next (screen_pending.go).

// A run too short to skip anything (fewer lines than the screen has rows)
// that ends before the chunk does was scanned for nothing; after one, skipPlain pauses for twice as many
// bytes as the last time, from plainPauseMin up to plainPauseMax, so
// output that never has such runs (a full-screen program, lines broken by
// tabs or cursor motion) pays for a scan of a small part of it.
const (
	plainPauseMin = 512
	plainPauseMax = 64 << 10
)

// plainLine is a line in a run that plainRun found: where it ends in the
// chunk and how many rows it takes.
type plainLine struct {
	end, rows int
}

// atFreshRow reports whether the cursor is at the left edge of a blank
// row at the bottom of a screen that scrolls whole, in the ground state:
// where a line printed in sequence starts a row that is not tricky and
// that each line feed after it moves up.
func (t *term) atFreshRow() bool {
	r := t.rows[t.y]
	return t.state == stGround && t.utfN == 0 && t.x == 0 && !t.wrap && !t.insert &&
		t.y == t.h-1 && t.top == 0 && t.bot == t.h-1 &&
		r.used == 0 && r.end == 0 && !r.touched && !r.tricky && r.esc == 0
}

// skipPlain returns how many bytes at the start of a run of plain lines,
// at a fresh row (see atFreshRow) and at stream offset off, draw only rows
// that scroll off before the run ends, given what plainRun found (skip of
// run bytes), and sets when plainRun is tried next. A plain line is
// printable ASCII, colour sequences (SGR) and erases to the end of the row
// where nothing is yet (EL, not under a pending wrap), both of which the
// model passes over, with at most escTricky bytes of them, ended by CR LF
// (or by LF where the model returns the cursor on it). It prints in
// sequence, from the left edge, wrapping at the right one (without
// autowrap it must fit), so each of its rows stays not tricky, and the
// line feeds that end it scroll the screen. The last lines of the run that
// take the screen's height are kept: they stay on the screen, or scroll
// off only as the run ends, and draw draws them; the lines before them are
// skipped. Their rows would have been scrolled off unread: everything
// after them up to then is plain lines too. The rows on the screen before
// the run scroll off during the kept lines instead, and are read as
// before.
func (t *term) skipPlain(skip, run int, off int64) int {
	if skip > 0 {
		t.plainPause = 0
		t.plainNext = off + int64(run) // the rest of the run is kept
		return skip
	}
	t.plainPause = min(max(2*t.plainPause, plainPauseMin), plainPauseMax)
	t.plainNext = off + int64(run+t.plainPause)
	return 0
}

// passPlain takes the run of plain lines at b[i], at a fresh row and stream
// offset off+i, whose lines plainRun found (skip, run, open): with
// mayHold, when the run ends b (or a line cut short by its end does), it
// holds the run back (see feed) and reports held; otherwise it returns
// where draw goes on, past the lines that scroll off within the run.
func (t *term) passPlain(b []byte, off int64, i, skip, run int, open, mayHold bool) (next int, held bool) {
	if mayHold && (i+run == len(b) || open) && len(b)-i-skip <= pendingMax {
		t.holdBack(b[i:], off+int64(i), skip)
		return len(b), true
	}
	return i + t.skipPlain(skip, run, off+int64(i)), false
}

// plainRows returns how many rows lines take.
func plainRows(lines []plainLine) int {
	n := 0
	for _, l := range lines {
		n += l.rows
	}
	return n
}

// plainRun returns the length of the run of plain lines at the start of b
// and of the lines at its start that skipPlain passes over, and whether
// the bytes after the run are a line cut short by the end of b that is
// plain so far (open): the next chunk may complete it.
func (t *term) plainRun(b []byte) (skip, run int, open bool) {
	t.plain = t.plain[:0]
	i := 0
	for i < len(b) {
		if end, vis, ok := t.textLine(b[i:]); ok {
			// Text alone, the common line: found at once.
			t.plain = append(t.plain, plainLine{end: i + end, rows: max(1, (vis+t.w-1)/t.w)})
			i += end
			continue
		}
		vis, esc, j := 0, 0, i
		cut := false // the line ran out of bytes, or out of an escape's
	line:
		for j < len(b) {
			for j+8 <= len(b) && printableWord(binary.LittleEndian.Uint64(b[j:])) {
				vis += 8
				j += 8
			}
			if j == len(b) {
				break
			}
			switch c := b[j]; {
			case c >= 0x20 && c < 0x7f:
				vis++
				j++
			case c == 0x1b:
				k := j + 1
				if k >= len(b) || b[k] != '[' {
					cut = k >= len(b)
					break line
				}
				for k++; k < len(b) && (isDigit(b[k]) || b[k] == ';' || b[k] == ':'); k++ {
				}
				if k >= len(b) {
					cut = true
					break line
				}
				params := string(b[j+2 : k])
				wrapping := vis > 0 && vis%t.w == 0 // the last print filled the row
				if b[k] != 'm' && (b[k] != 'K' || params != "" && params != "0" || wrapping) {
					break line
				}
				esc += k - j // the model counts the bytes after ESC
				j = k + 1
			default:
				break line
			}
		}
		cut = cut || j == len(b) || j+1 == len(b) && b[j] == '\r'
		switch {
		case j+1 < len(b) && b[j] == '\r' && b[j+1] == '\n':
			j += 2
		case t.onlcr && j < len(b) && b[j] == '\n':
			j++
		default:
			j = -1 // no line end: the run stops before this line
		}
		if j < 0 || esc > escTricky || t.noWrap && vis > t.w {
			open = j < 0 && cut && esc <= escTricky && !(t.noWrap && vis > t.w)
			break
		}
		t.plain = append(t.plain, plainLine{end: j, rows: max(1, (vis+t.w-1)/t.w)})
		i = j
	}
	if len(t.plain) == 0 {
		return 0, 0, open
	}
	run = t.plain[len(t.plain)-1].end
	kept := 0
	for k := len(t.plain) - 1; k > 0; k-- {
		if kept += t.plain[k].rows; kept >= t.h {
			return t.plain[k-1].end, run, open
		}
	}
	return 0, run, open
}

// textLine reports whether b starts with a plain line of printable ASCII
// alone, and where it ends (after its line end) and how many characters
// it prints: the line plainRun's loop finds, found by the line feed first
// and the text a word at a time.
func (t *term) textLine(b []byte) (end, vis int, ok bool) {
	lf := bytes.IndexByte(b, '\n')
	if lf < 0 {
		return 0, 0, false
	}
	vis = lf
	if lf > 0 && b[lf-1] == '\r' {
		vis--
	} else if !t.onlcr {
		return 0, 0, false
	}
	if t.noWrap && vis > t.w || !printable(b[:vis]) {
		return 0, 0, false
	}
	return lf + 1, vis, true
}

// printable reports whether b is printable ASCII alone, a word at a time
// (the last word overlapping the one before it).
func printable(b []byte) bool {
	if len(b) < 8 {
		for _, c := range b {
			if c < 0x20 || c >= 0x7f {
				return false
			}
		}
		return true
	}
	for i := 0; i+8 < len(b); i += 8 {
		if !printableWord(binary.LittleEndian.Uint64(b[i:])) {
			return false
		}
	}
	return printableWord(binary.LittleEndian.Uint64(b[len(b)-8:]))
}

// printableWord reports whether the eight bytes of x (little-endian) are
// all printable ASCII, 0x20 to 0x7e: none has the top bit set, none is
// below 0x20 (subtracting 0x20 from it borrows into its top bit) and none
// is DEL (xor with 0x7f leaves a zero byte).
func printableWord(x uint64) bool {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	del := x ^ (lsb * 0x7f)
	return (x|(x-lsb*0x20)&^x|(del-lsb)&^del)&msb == 0
}
