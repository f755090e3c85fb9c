package masking

import "math"

// Trigger classes: the scan looks at a byte only if its class is non-zero,
// which keeps the recognizers off ordinary text.
const (
	cDigit uint8 = 1 << iota // numbers: SSN, ITIN, card, phone, NPI, MBI, dates, IPs
	cAt                      // e-mail addresses
	cPhone                   // '(' and '+' starting a phone number
	cMonth                   // a month name after a date-of-birth context word
	cRegex                   // first bytes of pattern recognizers
	cHex                     // IPv6 addresses
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
	for i < len(b) {
		ws, we := s.window(s.projBase + int64(i))
		stop := int(min(ws-s.projBase, int64(len(b))))
		i = s.scanRange(b, i, max(stop, i), &s.m.cls, final)
		if i < len(b) {
			i = s.scanRange(b, i, int(min(we+1-s.projBase, int64(len(b)))), &s.m.clsCtx, final)
		}
	}
	s.scanPos = s.projEnd()
}

func (s *Stream) scanRange(b []byte, i, end int, cls *[256]uint8, final bool) int {
	for ; i < end; i++ {
		k := cls[b[i]]
		if k == 0 || k == cDigit && i > 0 && isDigit(b[i-1]) {
			continue
		}
		s.trigger(b, i, k, final)
	}
	return end
}

// window returns the first window [start, end] ending at or after pos in
// which some context word makes context-dependent triggers count.
func (s *Stream) window(pos int64) (start, end int64) {
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
	if k&cDigit != 0 && !isDigit(lb(b, i-1)) {
		s.consider(candidate{fam: famNumeric, trig: pos, hold: pos, base: pos}, final)
	}
	if k&cAt != 0 {
		if start, ok := localPart(b, i); ok {
			b := s.projBase + int64(start) + 1
			s.consider(candidate{fam: famEmail, trig: pos, hold: max(b, s.frontier), base: b, aux: b - 1}, final)
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

// consider evaluates a new candidate and keeps it if it needs more text.
func (s *Stream) consider(c candidate, final bool) {
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
	s.found = s.found[:0]
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
	k := len(s.matches)
	for k > 0 && (s.matches[k-1].start > m.start || s.matches[k-1].start == m.start && s.matches[k-1].end < m.end) {
		k--
	}
	s.matches = append(s.matches, match{})
	copy(s.matches[k+1:], s.matches[k:])
	s.matches[k] = m
}
