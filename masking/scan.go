package masking

import (
	"math"
	"slices"
)

// Trigger classes: the scan looks at a byte only if its class is non-zero,
// which keeps the recognizers off ordinary text.
const (
	cDigit uint8 = 1 << iota // numbers: SSN, ITIN, card, phone, NPI, MBI, dates, IPs
	cAt                      // e-mail addresses
	cPhone                   // '(' and '+' starting a phone number
	cMonth                   // a month name after a date-of-birth context word
	cRegex                   // first bytes of pattern recognizers
	cHex                     // IPv6 addresses
	cCtx                     // first letters of context words
)

// Candidate families.
const (
	famNumeric uint8 = iota
	famEmail
	famPhone
	famMonth
	famRegex
	famIPv6
)

// A candidate is a place where a match may start, waiting for enough text
// to decide.
type candidate struct {
	fam  uint8
	rx   int   // famRegex: index into Masker.regex
	trig int64 // visible position of the trigger byte
	hold int64 // earliest position not yet emitted where a match can start
	base int64 // where a match from here would start: MaxHold counts from it
	aux  int64 // famEmail: start of the local part; famRegex: token start
}

// found is a match reported by a recognizer, as indices into text.b.
type found struct {
	rec        int
	start, end int
	value      int // start of the value for the fingerprint (<= start)
}

// scan considers every trigger byte received since the last call. Triggers
// that only count after a context word (month names, patterns that require
// context) are looked at only in the windows that follow context words.
func (s *Stream) scan(final bool) {
	b := s.proj
	i := int(s.scanPos - s.projBase)
	n := int64(len(b))
	for i < len(b) {
		pos := s.projBase + int64(i)
		ws, we := s.window(pos)
		if ws > pos {
			i = s.scanRange(b, i, int(min(ws-s.projBase, n)), &s.m.cls, final)
		} else {
			i = s.scanRange(b, i, int(min(we+1-s.projBase, n)), &s.m.clsCtx, final)
		}
	}
	s.scanPos = s.projEnd()
}

// scanRange looks at b[i:end] with the trigger classes cls and returns end.
// It returns early, after the byte, when it records a context word, so that
// scan can open the window that follows the word.
func (s *Stream) scanRange(b []byte, i, end int, cls *[256]uint8, final bool) int {
	plain, skip := s.m.plainDigits[0], s.m.skip[0]
	if cls == &s.m.clsCtx {
		plain, skip = s.m.plainDigits[1], s.m.skip[1]
	}
	// From index free on, no context word or table header counts: numbers
	// are ruled out by the shapes that need none.
	free := len(b)
	if len(s.tables) == 0 {
		free = int(max(min(s.ctxReach-s.projBase+1, int64(len(b))), 0))
	}
	bb := b[:end]
	_ = cls[0] // one nil check, before the loop
	cur := skip.Cursor(bb, 0)
	for ; i < len(bb); i++ {
		// Most bytes trigger nothing: go to the next byte whose class
		// counts after the byte before it, which the skip finds 64 bytes
		// at a time where the processor can.
		if i = cur.Next(i); i == len(bb) {
			break
		}
		before := lb(b, i-1)
		c := bb[i]
		k := cls[c] & afterMask[before]
		if k == cDigit && plain {
			j := i + 1
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			// numericStart, with the byte before at hand; then the test
			// digits starts with (the shape, the next group), without the
			// call for the many numbers it rules out. Beyond free, only
			// the shapes that need no context count.
			if st := startTab[before]; st == startOK || st == startUnder || st == startGlue && (i < 2 || !isDigit(b[i-2]) && !negID(b, i)) {
				if n := j - i; j == len(b) {
					s.digits(b, i, n, final)
				} else if n < len(s.m.numTab) {
					k := s.m.numTab[n][b[j]]
					if i >= free {
						k = s.m.numFree[n][b[j]]
					}
					if k != 0 && (j+8 > len(b) || k&refineKinds(b, i, n) != 0) {
						s.digits(b, i, n, final)
					}
				}
			}
			i = j - 1
			continue
		}
		if k == cCtx && i+1 < len(b) {
			// contextAt's test of the second letter, without the call
			// for the many words it rules out.
			l, d := lower(c), lower(b[i+1])
			if s.m.ctxSecond[l][d>>6]&(1<<(d&63)) == 0 {
				continue
			}
		}
		recorded := false
		if k&cCtx != 0 {
			recorded = s.contextAt(b, i)
		}
		if k &^= cCtx; k != 0 {
			s.trigger(b, i, k, final)
		}
		if recorded {
			return i + 1
		}
	}
	return end
}

// afterMask, indexed by the previous byte, drops the trigger classes that
// need a word start: after a letter or digit, a digit does not start a
// number, nor a letter a context word, a month name or an IPv6 address, nor
// '(' or '+' a phone number.
var afterMask = func() (m [256]uint8) {
	for c := range m {
		m[c] = 0xff
		if isAlnum(byte(c)) {
			m[c] = cAt | cRegex
		}
	}
	return m
}()

// digits considers a numeric candidate at the run of n digits at b[i]
// (numericStart holds).
func (s *Stream) digits(b []byte, i, n int, final bool) {
	pos := s.projBase + int64(i)
	c := candidate{fam: famNumeric, trig: pos, hold: pos, base: pos}
	if i+n == len(b) {
		if final {
			s.consider(c, final)
		} else if _, drop := s.view(pos, final); !drop {
			// The recognizers would read the byte after the run.
			s.pending = append(s.pending, c)
		}
		return
	}
	if n > 19 || s.m.numTab[n][b[i+n]] == 0 {
		return
	}
	k := s.numericKinds(lb(b, i-1), n, b[i], b[i+n], pos)
	if k != 0 && i+n+8 <= len(b) {
		k &= refineKinds(b, i, n)
	}
	if k != 0 {
		s.consider(c, final)
	}
}

// refineKinds rules out more numeric recognizers for the run of n digits at
// b[i] by looking at the next group, which the caller made sure is present.
func refineKinds(b []byte, i, n int) uint16 {
	k := ^uint16(0)
	j := i + n // the separator
	sep := b[j]
	g := 0 // digits in the next group, up to 7
	for g < 7 && isDigit(b[j+1+g]) {
		g++
	}
	if n == 3 && (g != 2 || b[j+3] != sep) {
		k &^= 1 << recSSN
	}
	if n < 13 && (g < 3 || g > 6) {
		k &^= 1 << recCard
	}
	if n == 3 && (g != 3 || b[j+4] != sep) || n == 1 && g == 0 && sep != '(' && b[j+1] != '(' {
		k &^= 1 << recPhone
	}
	return k
}

// window returns the first window [start, end] ending at or after pos in
// which some context word makes context-dependent triggers count.
func (s *Stream) window(pos int64) (start, end int64) {
	// Under a table column of such a recognizer, any field may be one.
	for _, tc := range s.tables {
		if pos <= tc.expire && slices.Contains(s.m.winRecs, tc.rec) {
			return pos, pos + ContextDistance
		}
	}
	start, end = math.MaxInt64, math.MaxInt64
	for _, r := range s.m.winRecs {
		ends := s.ctx[r]
		k := len(ends)
		for k > 0 && ends[k-1]+ContextDistance >= pos {
			k--
		}
		if k < len(ends) && ends[k] < start {
			start, end = ends[k], ends[k]+ContextDistance
			// Merge the windows that overlap this one.
			for k++; k < len(ends) && ends[k] <= end+1; k++ {
				end = ends[k] + ContextDistance
			}
		}
	}
	return start, end
}

func (s *Stream) trigger(b []byte, i int, k uint8, final bool) {
	pos := s.projBase + int64(i)
	if k&cDigit != 0 && numericStart(b, i) && s.numericMay(b, i) {
		s.consider(candidate{fam: famNumeric, trig: pos, hold: pos, base: pos}, final)
	}
	if k&cAt != 0 {
		if start, ok := localPart(b, i); ok {
			// The match starts after the first character of the local part.
			base := s.projBase + int64(start) + 1
			s.consider(candidate{fam: famEmail, trig: pos, hold: max(base, s.frontier), base: base, aux: base - 1}, final)
		}
	}
	if k&cPhone != 0 {
		s.consider(candidate{fam: famPhone, trig: pos, hold: pos, base: pos}, final)
	}
	if k&cMonth != 0 && !isAlnum(lb(b, i-1)) && s.hasCtx(recDOB, pos) {
		s.consider(candidate{fam: famMonth, trig: pos, hold: pos, base: pos}, final)
	}
	if k&cRegex != 0 {
		s.triggerRegex(b, i, pos, final)
	}
	if k&cHex != 0 && !isDigit(b[i]) && ipv6Left(lb(b, i-1)) {
		s.consider(candidate{fam: famIPv6, trig: pos, hold: pos, base: pos}, final)
	}
}

// numericStart reports whether the digit b[i] can start a numeric match:
// it starts a run of digits that is not glued to a word, nor to a preceding
// number by anything but a space. It reads only look-back.
func numericStart(b []byte, i int) bool {
	if i == 0 {
		return true
	}
	switch startTab[b[i-1]] {
	case startOK, startUnder:
		return true
	case startNo:
		return false
	}
	return i < 2 || !isDigit(b[i-2]) && !negID(b, i)
}

// negID reports whether the digit b[i] follows "_-", as in the negative
// block ids of HDFS logs ("blk_-4111111111111111"): a number, not a value.
func negID(b []byte, i int) bool { return b[i-1] == '-' && b[i-2] == '_' }

const (
	startOK   = iota // a number may start after this byte
	startNo          // a digit, letter or '_': never
	startGlue        // a separator that glues to a digit before it
	// '_' joins words in identifiers ("patient_123-45-6789"): only the
	// dashed SSN form may start after it (block ids, "blk_1073741825", are
	// long numbers).
	startUnder
)

var startTab = func() (t [256]uint8) {
	for c := range t {
		switch {
		case c == '_':
			t[c] = startUnder
		case c == '/':
			// A path's directory ends there ("/data/001/123-45-6789.csv"):
			// what follows starts afresh.
			t[c] = startOK
		case isDigit(byte(c)) || isWordish(byte(c)):
			t[c] = startNo
		case isGlue(byte(c)) && c != ' ':
			t[c] = startGlue
		}
	}
	return t
}()

// consider evaluates a new candidate and keeps it if it needs more text.
// It first probes all the text received, without the MaxHold limit (which
// costs a segment lookup): a probe that finds nothing proves the limited
// evaluation would find nothing either, as it reads a prefix of the same
// text, and most candidates end there.
func (s *Stream) consider(c candidate, final bool) {
	t := text{b: s.proj, eof: final}
	if len(s.found) > 0 {
		s.found = s.found[:0]
	}
	if s.run(&c, &t) {
		if len(s.found) == 0 {
			return
		}
	} else if v, drop := s.view(c.base, final); len(v.b) == len(s.proj) {
		// The view is the text just probed: it needs more text as well.
		if !drop {
			s.pending = append(s.pending, c)
		}
		return
	}
	if !s.evaluate(&c, final) {
		s.pending = append(s.pending, c)
	}
}

// retry evaluates the pending candidates again with the new text.
func (s *Stream) retry(final bool) {
	keep := s.pending[:0]
	for _, c := range s.pending {
		if !s.evaluate(&c, final) {
			keep = append(keep, c)
		}
	}
	s.pending = keep
}

// evaluate runs the recognizers of c and reports whether c is decided.
func (s *Stream) evaluate(c *candidate, final bool) bool {
	t, drop := s.view(c.base, final)
	if len(s.found) > 0 {
		s.found = s.found[:0]
	}
	if !s.run(c, &t) {
		return drop
	}
	for _, f := range s.found {
		s.addMatch(f)
	}
	return true
}

// run reports false if the recognizers needed text not received yet.
func (s *Stream) run(c *candidate, t *text) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, more := r.(needMore); !more {
				panic(r)
			}
			ok = false
		}
	}()
	i := int(c.trig - s.projBase)
	switch c.fam {
	case famNumeric:
		s.evalNumeric(t, i)
	case famEmail:
		s.evalEmail(t, i, int(c.aux-s.projBase))
	case famPhone:
		s.evalPhoneMark(t, i)
	case famMonth:
		s.evalMonthFirst(t, i)
	case famRegex:
		s.evalRegex(t, c, i)
	case famIPv6:
		s.evalIPv6(t, i)
	}
	return true
}

func (s *Stream) add(rec, start, end, value int) {
	s.found = append(s.found, found{rec: rec, start: start, end: end, value: value})
}

// addMatch records a decided match, clipped to the text not yet emitted
// (only a Flush can leave part of a value already emitted).
func (s *Stream) addMatch(f found) {
	m := match{
		rec:   f.rec,
		start: max(s.projBase+int64(f.start), s.frontier),
		end:   s.projBase + int64(f.end),
	}
	if m.start >= m.end {
		return
	}
	m.fp = s.fingerprint(f.rec, s.proj[f.value:f.end])
	s.insertMatch(m)
}

// addHeld masks the visible text [start, end) released at a deadline.
func (s *Stream) addHeld(start, end int64) {
	s.insertMatch(match{rec: recHeld, start: max(start, s.frontier), end: end})
}

// insertMatch adds m to the matches, kept sorted by start (longest first).
func (s *Stream) insertMatch(m match) {
	if m.start >= m.end {
		return
	}
	k := len(s.matches)
	for k > 0 && (s.matches[k-1].start > m.start || s.matches[k-1].start == m.start && s.matches[k-1].end < m.end) {
		k--
	}
	s.matches = append(s.matches, match{})
	copy(s.matches[k+1:], s.matches[k:])
	s.matches[k] = m
}
