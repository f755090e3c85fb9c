package masking

import "encoding/binary"

// Context words ("DOB", "MRN", "NPI", a custom pattern's words) make a
// recognizer consider text shortly after them. The context scan finds them
// case-insensitively at word starts and records where each ends; a match
// qualifies if a word of its recognizer ends at most ContextDistance visible
// bytes before the match starts. A word that cannot be decided yet (its end
// not received) is looked at again with the next input; it cannot be context
// for anything before its end, so nothing waits on it.

// ContextDistance is the largest number of visible bytes between the end of
// a context word and the start of the value it introduces ("DOB: " is 2,
// "date of birth (mm/dd/yyyy): " is 15).
const ContextDistance = 32

// maxContextWord bounds the length of a context word.
const maxContextWord = 32

type ctxWord struct {
	word string // lower case
	rec  int
	// The word's first four bytes (fewer if it is shorter) with bit 5 set,
	// as a little-endian word, and the mask of the bytes it has: input
	// whose first bytes differ from them in another bit is not the word.
	pre, preMask uint32
}

func newCtxWord(w string, rec int) ctxWord {
	cw := ctxWord{word: w, rec: rec}
	for k := 0; k < 4 && k < len(w); k++ {
		cw.pre |= uint32(w[k]|0x20) << (8 * k)
		cw.preMask |= 0xff << (8 * k)
	}
	return cw
}

type ctxResult uint8

const (
	ctxNo ctxResult = iota
	ctxYes
	ctxUnknown
)

// contextAt records the context words that start at the word start b[i]
// and reports whether it recorded one. A word whose end has not been
// received yet is looked at again with the next input, even after a Flush:
// a word cut by a pause ("dateOfBirt", "h") is still a context word.
func (s *Stream) contextAt(b []byte, i int) bool {
	const final = false // only the next input decides a word at the end
	c := lower(b[i])
	if i+1 < len(b) {
		if d := lower(b[i+1]); s.m.ctxSecond[c][d>>6]&(1<<(d&63)) == 0 {
			return false
		}
	}
	found := false
	// Most words that pass the second letter differ within four bytes.
	var first4 uint32
	whole := i+4 <= len(b)
	if whole {
		first4 = binary.LittleEndian.Uint32(b[i:]) | 0x20202020
	}
	for _, w := range s.m.ctxWords[c] {
		if whole && first4&w.preMask != w.pre {
			continue
		}
		switch matchWord(b, i, w.word, final) {
		case ctxUnknown:
			if !s.ctxStall {
				s.ctxStall, s.ctxPos = true, s.projBase+int64(i)
			}
		case ctxYes:
			s.addCtx(w.rec, s.projBase+int64(i+len(w.word)))
			s.tableHeader(b, i, len(w.word), w.rec)
			found = true
		}
	}
	return found
}

// recheckContext decides the context words left undecided at the end of
// the previous input. Such a word ends after that input, so the window it
// opens only covers new text.
func (s *Stream) recheckContext() {
	if !s.ctxStall {
		return
	}
	s.ctxStall = false
	b := s.proj
	for i := int(s.ctxPos - s.projBase); i < int(s.scanPos-s.projBase); i++ {
		if s.m.ctxFirst[b[i]] && !isAlnum(lb(b, i-1)) {
			s.contextAt(b, i)
		}
	}
}

// matchWord reports whether w starts at b[i] and ends at a word boundary.
func matchWord(b []byte, i int, w string, final bool) ctxResult {
	for k := 0; k < len(w); k++ {
		if i+k >= len(b) {
			if final {
				return ctxNo
			}
			return ctxUnknown
		}
		if lower(b[i+k]) != w[k] {
			return ctxNo
		}
	}
	e := i + len(w)
	if e >= len(b) {
		if final {
			return ctxYes
		}
		return ctxUnknown
	}
	if isAlpha(b[e]) {
		return ctxNo
	}
	return ctxYes
}

func (s *Stream) addCtx(rec int, end int64) {
	s.ctxReach = max(s.ctxReach, end+ContextDistance)
	ends := s.ctx[rec]
	k := len(ends)
	for k > 0 && ends[k-1] > end {
		k--
	}
	if k > 0 && ends[k-1] == end {
		return
	}
	ends = append(ends, 0)
	copy(ends[k+1:], ends[k:])
	ends[k] = end
	s.ctx[rec] = ends
}

// hasCtx reports whether a context word of rec ends within ContextDistance
// before pos on the same line, or pos starts a field in a table column
// whose header names rec (see table.go).
func (s *Stream) hasCtx(rec int, pos int64) bool {
	ends := s.ctx[rec]
	for k := len(ends) - 1; k >= 0; k-- {
		if e := ends[k]; e <= pos {
			if pos-e <= ContextDistance && s.sameLine(e, pos) {
				return true
			}
			break
		}
	}
	return s.tableCtx(rec, pos)
}

// sameLine reports whether no line break lies between visible positions a
// and b (a <= b); text no longer kept counts as a break.
func (s *Stream) sameLine(a, b int64) bool {
	if a < s.projBase {
		return false
	}
	for p := a; p < b && p < s.projEnd(); p++ {
		if s.proj[p-s.projBase] == '\n' {
			return false
		}
	}
	return true
}
