package masking

import (
	"slices"
	"sort"
)

// A match is a masked region of visible text.
type match struct {
	rec        int
	start, end int64 // visible positions; start is never before the frontier
	fp         string
	opened     bool  // its first byte has been emitted
	outStart   int64 // output offset of its first byte
}

// Finding describes one masked value in the output.
type Finding struct {
	// Recognizer is the name of the recognizer that matched ("ssn", "email",
	// a custom pattern's name, ...).
	Recognizer string
	// Offset is the offset in the masked output stream of the first byte of
	// the masked value, and Length the number of output bytes it spans
	// (escape sequences inside the value included).
	Offset int64
	Length int
	// Fingerprint is a keyed hash of the normalized value (see
	// Masker.Fingerprint): equal values give equal fingerprints within a
	// deployment, and the value cannot be recovered without the key.
	Fingerprint string
}

// emit appends to out the raw bytes before visible position hp (and the
// escape sequences just before it), masked.
func (s *Stream) emit(hp int64) {
	e := s.rawTok
	if hp < s.projEnd() {
		e = s.rawAt(hp)
	}
	raw := s.raw[s.rawOff : s.rawOff+int(e-s.rawBase)]
	if len(s.matches) > 0 && s.matches[0].start < hp {
		if s.m.label {
			s.walk(raw, hp)
		} else {
			s.maskInPlace(raw, hp)
		}
	} else {
		s.out = append(s.out, raw...)
		if hp > s.frontier {
			s.prevCov = false
		}
	}
	s.rawOff += len(raw)
	s.rawBase = e
	s.frontier = hp
	k := 0
	for _, m := range s.matches {
		if m.end > hp {
			s.matches[k] = m
			k++
		}
	}
	s.matches = s.matches[:k]
}

// outPos returns the offset in the output stream of the next byte emitted.
func (s *Stream) outPos() int64 { return s.outOff + int64(len(s.out)-s.outBase) }

// walk emits raw in label style: the visible bytes of a masked region are
// replaced by the label of the match that starts the region; escape
// sequences inside stay.
func (s *Stream) walk(raw []byte, hp int64) {
	base := s.rawBase
	end := base + int64(len(raw))
	pos := base
	s.mi, s.covEnd = 0, 0
	k := sort.Search(len(s.segs), func(k int) bool { return s.segs[k].rawEnd() > pos })
	for pos < end {
		if k == len(s.segs) || s.segs[k].r >= end {
			s.out = append(s.out, raw[pos-base:]...)
			return
		}
		g := s.segs[k]
		k++
		if g.r > pos {
			s.out = append(s.out, raw[pos-base:g.r-base]...)
			pos = g.r
		}
		stop := min(g.rawEnd(), end)
		if stop <= pos {
			continue
		}
		if g.brk {
			s.out = append(s.out, raw[pos-base:stop-base]...)
			s.prevCov = false
		} else {
			s.walkText(raw[pos-base:stop-base], g.p+(pos-g.r))
		}
		pos = stop
	}
}

// walkText emits the visible bytes b, which start at visible position p0.
func (s *Stream) walkText(b []byte, p0 int64) {
	pz := p0 + int64(len(b))
	for p := p0; p < pz; {
		var lbl []byte
		for s.mi < len(s.matches) && s.matches[s.mi].start <= p {
			m := &s.matches[s.mi]
			s.covEnd = max(s.covEnd, m.end)
			if !m.opened {
				m.opened = true
				m.outStart = s.outPos()
				if lbl == nil {
					lbl = s.m.recLabel(m.rec)
				}
			}
			s.mi++
		}
		q := pz
		if s.mi < len(s.matches) {
			q = min(q, s.matches[s.mi].start)
		}
		chunk := b[p-p0:]
		if p < s.covEnd {
			q = min(q, s.covEnd)
			for i := 0; i < s.mi; i++ {
				if e := s.matches[i].end; e > p {
					q = min(q, e)
				}
			}
			if !s.prevCov {
				// A region starts here, so a match starts here too (its
				// label was picked above); the fallback is for safety.
				if lbl == nil {
					lbl = []byte("[MASKED]")
				}
				s.out = append(s.out, lbl...)
			}
			s.prevCov = true
		} else {
			s.out = append(s.out, chunk[:q-p]...)
			s.prevCov = false
		}
		p = q
		for i := 0; i < s.mi; i++ {
			if m := &s.matches[i]; m.end == p {
				s.findings = append(s.findings, Finding{
					Recognizer:  s.m.recName(m.rec),
					Offset:      m.outStart,
					Length:      int(s.outPos() - m.outStart),
					Fingerprint: m.fp,
				})
			}
		}
	}
}

// maskInPlace emits raw in same-length style: a copy in which the letters,
// digits and non-ASCII bytes of the visible text covered by matches become
// '*'. Output offsets equal raw offsets.
func (s *Stream) maskInPlace(raw []byte, hp int64) {
	o := len(s.out)
	s.out = append(s.out, raw...)
	out := s.out[o:]
	base := s.rawBase
	done := s.done[:0]
	for i := range s.matches {
		m := &s.matches[i]
		if m.start >= hp {
			break
		}
		a, z := max(m.start, s.frontier), min(m.end, hp)
		for k := s.seg(a); k < len(s.segs) && s.segs[k].p < z; k++ {
			g := &s.segs[k]
			if g.brk {
				continue
			}
			ra, rz := g.r+max(a, g.p)-g.p, g.r+min(z, g.p+g.n)-g.p
			for r := ra; r < rz; r++ {
				if c := out[r-base]; isAlnum(c) || c >= 0x80 {
					out[r-base] = '*'
				}
			}
		}
		if !m.opened {
			m.opened, m.outStart = true, s.rawAt(m.start)
		}
		if m.end <= hp {
			done = append(done, i)
		}
	}
	// Report in the order the values end, as walk does.
	slices.SortStableFunc(done, func(x, y int) int { return int(s.matches[x].end - s.matches[y].end) })
	s.done = done
	for _, i := range done {
		m := &s.matches[i]
		s.findings = append(s.findings, Finding{
			Recognizer:  s.m.recName(m.rec),
			Offset:      m.outStart,
			Length:      int(s.rawAt(m.end-1) + 1 - m.outStart),
			Fingerprint: m.fp,
		})
	}
}
