package masking

import (
	"regexp/syntax"
	"unicode"
)

// Pattern recognizers (mrn and custom patterns) run a regular expression
// over tokens: runs of text between delimiters (white space, control
// characters and |,;"'<>()[]{}`), at most maxToken bytes long. A match never
// crosses a delimiter; a label such as "MRN:" is a context word, not part of
// the pattern. A token is examined from its first byte that can start a
// match (the pattern's first set), and is held back from that byte until
// the token ends.

const maxToken = 128

// rxState tracks, per pattern recognizer, the token already examined so
// that it is examined once.
type rxState struct {
	open    bool  // a token was examined and no delimiter has been seen since
	checked int64 // visible position up to which no delimiter was found
}

func (s *Stream) triggerRegex(b []byte, i int, pos int64, final bool) {
	c := b[i]
	for x, ri := range s.m.regex {
		r := &s.m.recs[ri]
		if !r.first[c] {
			continue
		}
		st := &s.rx[x]
		if st.open {
			// A delimiter further back than maxToken would start a token
			// already too long at i: only the last maxToken bytes matter.
			j := int(max(st.checked-s.projBase, int64(i-maxToken)))
			for j < i && !isDelim(b[j]) {
				j++
			}
			if j == i {
				st.checked = pos
				continue
			}
			st.open = false
		}
		if r.require && !s.hasCtx(ri, pos) {
			continue
		}
		ts := i
		for ts > 0 && i-ts < maxToken && !isDelim(b[ts-1]) {
			ts--
		}
		st.open, st.checked = true, pos+1
		if i-ts >= maxToken || !tokenMay(b, r, ts, i) {
			continue
		}
		s.consider(candidate{fam: famRegex, rx: x, trig: pos, hold: pos, base: pos, aux: s.projBase + int64(ts)}, final)
	}
}

// tokenMay is the test evalRegex starts with, on the text received: false
// if the token b[ts:] holding the trigger b[i] has ended and cannot hold a
// match from i on, which most tokens after a context word ("seen", "by")
// cannot, so that they cost no candidate.
func tokenMay(b []byte, r *recognizer, ts, i int) bool {
	te := i
	for te < len(b) && !isDelim(b[te]) {
		te++
		if te-ts > maxToken {
			return false
		}
	}
	if te == len(b) {
		return true // its end is not known yet
	}
	return te-i >= r.minLen && r.hasNeeded(b[i:te])
}

// evalRegex matches the token holding the trigger b[i]; only matches from
// the trigger on count.
func (s *Stream) evalRegex(t *text, c *candidate, i int) {
	ri := s.m.regex[c.rx]
	r := &s.m.recs[ri]
	ts := int(c.aux - s.projBase)
	te := i
	for !isDelim(t.at(te)) {
		te++
		if te-ts > maxToken {
			return
		}
	}
	if te-i < r.minLen || !r.hasNeeded(t.b[i:te]) {
		return // no match can start at i or later
	}
	if s.addRegex(t, ri, ts, te, i) == 0 && i > ts {
		// The token began before the window: the context word is glued to
		// the value ("MRN1234567"). Match the part from the trigger on.
		s.addRegex(t, ri, i, te, i)
	}
}

// addRegex adds the matches of recognizer ri in t.b[ts:te] that start at i
// or later, and returns how many it added.
func (s *Stream) addRegex(t *text, ri, ts, te, i int) int {
	r := &s.m.recs[ri]
	if !r.re.Match(t.b[ts:te]) {
		return 0 // most tokens: without the allocations of FindAllIndex
	}
	n := 0
	for _, m := range r.re.FindAllIndex(t.b[ts:te], -1) {
		a, z := ts+m[0], ts+m[1]
		if a < i || a == z {
			continue
		}
		if r.require && !s.hasCtx(ri, s.projBase+int64(a)) {
			continue
		}
		s.add(ri, a, z, a)
		n++
	}
	return n
}

// firstSet returns the bytes that can start a match of re and whether re
// matches the empty string. Any non-ASCII rune adds every byte >= 0xc0.
func firstSet(re *syntax.Regexp) (set [256]bool, nullable bool) {
	switch re.Op {
	case syntax.OpNoMatch:
		return set, false
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return set, true
		}
		r := re.Rune[0]
		addRange(&set, r, r)
		if re.Flags&syntax.FoldCase != 0 {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				addRange(&set, f, f)
			}
		}
		return set, false
	case syntax.OpCharClass:
		for k := 0; k+1 < len(re.Rune); k += 2 {
			addRange(&set, re.Rune[k], re.Rune[k+1])
		}
		return set, false
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		addRange(&set, 0, unicode.MaxRune)
		return set, false
	case syntax.OpCapture, syntax.OpPlus:
		return firstSet(re.Sub[0])
	case syntax.OpStar, syntax.OpQuest:
		set, _ = firstSet(re.Sub[0])
		return set, true
	case syntax.OpRepeat:
		set, nullable = firstSet(re.Sub[0])
		return set, nullable || re.Min == 0
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			s, n := firstSet(sub)
			union(&set, &s)
			if !n {
				return set, false
			}
		}
		return set, true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			s, n := firstSet(sub)
			union(&set, &s)
			nullable = nullable || n
		}
		return set, nullable
	default: // empty-width assertions and OpEmptyMatch
		return set, true
	}
}

func addRange(set *[256]bool, lo, hi rune) {
	for c := lo; c <= hi && c < 0x80; c++ {
		set[c] = true
	}
	if hi >= 0x80 {
		// Only bytes that can start a character: a hold point must never
		// split one.
		for c := 0xc0; c < 0x100; c++ {
			set[c] = true
		}
	}
}

func union(dst, src *[256]bool) {
	for i, v := range src {
		dst[i] = dst[i] || v
	}
}

// minLen returns the length in bytes of the shortest string re matches
// (counting a non-ASCII rune as one byte, a lower bound).
func minLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minLen(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min * minLen(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, sub := range re.Sub {
			n += minLen(sub)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, sub := range re.Sub {
			if m := minLen(sub); n < 0 || m < n {
				n = m
			}
		}
		return max(n, 0)
	}
	return 0 // star, quest, empty-width assertions, no match
}

// neededSet returns a set of bytes of which every match of re contains at
// least one, or ok false if there is no such set (only ASCII is tracked).
func neededSet(re *syntax.Regexp) (set [256]bool, ok bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 || re.Rune[0] >= 0x80 {
			return set, false
		}
		set, _ = firstSet(re)
		return set, true
	case syntax.OpCharClass:
		for k := 0; k+1 < len(re.Rune); k += 2 {
			if re.Rune[k+1] >= 0x80 {
				return set, false
			}
		}
		set, _ = firstSet(re)
		return set, true
	case syntax.OpCapture, syntax.OpPlus:
		return neededSet(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min == 0 {
			return set, false
		}
		return neededSet(re.Sub[0])
	case syntax.OpConcat:
		// Any required part will do; prefer the smallest set.
		best := 257
		for _, sub := range re.Sub {
			if s, ok := neededSet(sub); ok {
				if n := count(&s); n < best {
					set, best = s, n
				}
			}
		}
		return set, best <= 256
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			s, ok := neededSet(sub)
			if !ok {
				return set, false
			}
			union(&set, &s)
		}
		return set, true
	}
	return set, false
}

func count(set *[256]bool) int {
	n := 0
	for _, v := range set {
		if v {
			n++
		}
	}
	return n
}

// hasNeeded reports whether b holds a byte every match needs.
func (r *recognizer) hasNeeded(b []byte) bool {
	if !r.needs {
		return true
	}
	for _, c := range b {
		if r.need[c] {
			return true
		}
	}
	return false
}
