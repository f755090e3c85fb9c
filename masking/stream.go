package masking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sort"
	"time"

	"github.com/bastion-ssh/bastion/internal/bytescan"
)

const (
	// lookback is how much visible text is kept before the hold point for
	// the recognizers' left context (context words, e-mail local parts,
	// pattern tokens). It exceeds what any recognizer reads backwards.
	lookback = 256
	// compactMin is the dead prefix at which buffers are compacted.
	compactMin = 4096
)

// Stream masks one output stream (stdout, stderr or a pty). It is not safe
// for concurrent use.
type Stream struct {
	m *Masker

	// Raw bytes. raw[rawOff:] holds the bytes from stream offset rawBase on,
	// which have not been emitted; bytes before rawTok have been tokenized.
	raw      []byte
	borrowed bool // raw is the caller's buffer (read only)
	rawOff   int
	rawBase  int64
	rawTok   int64
	esc      escState
	memo     csiMemo
	scratch  []byte

	// Visible text ("projection"): proj[0] is at position projBase. segs maps
	// it back to raw offsets, in order.
	proj     []byte
	projBase int64
	segs     []segment
	segHint  int // index of the segment found by the last seg lookup

	// A held tail released masked leaves its token open: the text that
	// continues it up to a delimiter is masked too (from cutPos on), so the
	// rest of a paused value never shows.
	cutOpen bool
	cutPos  int64

	ctxStall   bool // a context word at ctxPos awaits more input
	ctxPos     int64
	ctx        [][]int64  // per recognizer: ends of context words, ascending
	ctxReach   int64      // no context word counts for a position after this
	tables     []tableCol // columns of PHI fields under a table header
	hdrPending []hdrWord  // context words that may be header fields
	scanPos    int64      // triggers before this have been considered
	rx         []rxState  // per pattern recognizer
	pending    []candidate
	found      []found
	matches    []match // sorted by start; each ends after frontier
	frontier   int64   // visible text before this has been emitted

	out      []byte // output being built (the caller's dst)
	outOff   int64  // output bytes returned before this call
	outBase  int    // len(out) when this call started
	prevCov  bool   // the last emitted visible byte was masked
	mi       int    // emit: next match to activate
	covEnd   int64  // emit: end of the masked region being emitted
	findings []Finding
	done     []int // maskInPlace: matches fully emitted
	mac      hash.Hash
	normBuf  []byte
	sumBuf   [sha256.Size]byte
}

// segment maps a run of visible text to the raw stream. A text segment maps
// n visible bytes one to one; a break segment is the single newline that
// stands for a cursor-moving escape sequence of rn raw bytes.
type segment struct {
	p   int64
	r   int64
	n   int64
	rn  int64 // raw length of a break; 0 for text
	brk bool
}

func (g *segment) rawEnd() int64 {
	if g.brk {
		return g.r + g.rn
	}
	return g.r + g.n
}

// NewStream returns a Stream for one output stream of a session.
func (m *Masker) NewStream() *Stream {
	return &Stream{
		m:   m,
		ctx: make([][]int64, len(m.recs)),
		rx:  make([]rxState, len(m.regex)),
		mac: hmac.New(sha256.New, m.key),
	}
}

// reset makes s what NewStream returns, keeping its buffers and HMAC, for
// a caller that masks many separate texts (Screen).
func (s *Stream) reset() {
	ctx, rx := s.ctx, s.rx
	for i := range ctx {
		ctx[i] = ctx[i][:0]
	}
	clear(rx)
	*s = Stream{
		m: s.m, ctx: ctx, rx: rx, mac: s.mac,
		raw: s.raw[:0], scratch: s.scratch[:0], proj: s.proj[:0], segs: s.segs[:0],
		tables: s.tables[:0], hdrPending: s.hdrPending[:0], pending: s.pending[:0],
		found: s.found[:0], matches: s.matches[:0], done: s.done[:0], normBuf: s.normBuf[:0],
	}
}

// Write adds p to the stream and returns, in a new slice, the bytes that
// are now safe to emit, masked. It holds back only a tail that could still
// become part of a match, at most MaxHold bytes (plus an incomplete UTF-8
// character). The result is nil when nothing can be emitted yet. Write only
// reads p.
func (s *Stream) Write(p []byte) []byte {
	return s.AppendWrite(nil, p)
}

// AppendWrite is Write appending the bytes to dst, which lets a caller reuse
// one buffer and avoid an allocation per call. dst must not overlap p.
func (s *Stream) AppendWrite(dst, p []byte) []byte {
	if s.rawOff < len(s.raw) {
		s.raw = append(s.raw, p...)
		return s.process(dst, false, false)
	}
	// Nothing held: read p in place and keep a copy of what stays held.
	own := s.raw[:0]
	s.raw, s.rawOff, s.borrowed = p, 0, true
	out := s.process(dst, false, false)
	s.raw = append(own, s.raw[s.rawOff:]...)
	s.rawOff, s.borrowed = 0, false
	return out
}

// Flush emits everything held back, masked as if the stream ended here. Call
// it after Masker.IdleFlush without input, and at the end of the stream.
// Text after a Flush is still read with the text before it as context, but a
// value cut by the Flush may be only partly masked.
func (s *Stream) Flush() []byte {
	return s.AppendFlush(nil)
}

// AppendFlush is Flush appending the bytes to dst.
func (s *Stream) AppendFlush(dst []byte) []byte {
	return s.process(dst, true, false)
}

// AppendFlushMasked is AppendFlush failing closed: every letter, digit and
// non-ASCII byte of the visible text held back is masked (a finding of
// recognizer "held", without fingerprint), whether or not it would have
// become a value. Text that follows is still read with the held text as
// context, so a value completed later is masked from the cut on: a paused
// value never reaches the output whole. Paced calls it at the deadline.
func (s *Stream) AppendFlushMasked(dst []byte) []byte {
	return s.process(dst, true, true)
}

// Undecided reports whether a candidate value is held undecided. A stream
// can hold bytes without one: an incomplete character, or a word at the end
// that would become the local part of an e-mail address if an '@' followed
// (released raw by an idle flush; the rest of such an address is masked).
func (s *Stream) Undecided() bool {
	return len(s.pending) > 0
}

// HoldDeadline returns the masker's hold deadline.
func (s *Stream) HoldDeadline() time.Duration { return s.m.deadline }

// SameLength reports whether the stream's output keeps the length of its
// input (the "same-length" style).
func (s *Stream) SameLength() bool { return !s.m.label }

// HeldFrom returns the stream offset of the first byte held back; it
// changes whenever the held tail is (partly) released.
func (s *Stream) HeldFrom() int64 { return s.rawBase }

// Pending returns the number of bytes held back.
func (s *Stream) Pending() int {
	return len(s.raw) - s.rawOff
}

// Findings returns the matches emitted since the previous call, in the order
// their last byte was emitted.
func (s *Stream) Findings() []Finding {
	f := s.findings
	s.findings = nil
	return f
}

func (s *Stream) process(dst []byte, final, failClosed bool) []byte {
	s.out = dst
	held := s.frontier
	s.tokenize(final)
	s.recheckContext()
	s.resolveHeaders()
	s.retry(final)
	s.scan(final)
	if failClosed && held < s.projEnd() {
		s.addHeld(held, s.projEnd())
		s.cutOpen, s.cutPos = true, s.projEnd()
	} else if s.cutOpen {
		s.extendCut()
	}
	hp := s.projEnd()
	if !final {
		hp = s.holdPoint()
	}
	s.outBase = len(s.out)
	s.emit(hp)
	s.trim(hp)
	s.outOff += int64(len(s.out) - s.outBase)
	out := s.out
	s.out = nil
	return out
}

// extendCut masks the text that continues a value cut by a masked flush:
// letters, digits and non-ASCII bytes, and the separators of grouped
// numbers ("123 45 6789", "(555) 123-4567") when a digit follows them.
func (s *Stream) extendCut() {
	start := max(s.cutPos, s.projBase)
	end := s.projEnd()
	j := start
	open := true
	for j < end {
		c := s.proj[j-s.projBase]
		if isAlnum(c) || c >= 0x80 {
			j++
			continue
		}
		if !isGroupSep(c) {
			open = false
			break
		}
		if j+1 == end {
			break // a digit may follow
		}
		if !isDigit(s.proj[j+1-s.projBase]) {
			open = false
			break
		}
		j++
	}
	s.addHeld(start, j)
	s.cutPos, s.cutOpen = j, open
}

// isGroupSep reports whether c separates the digit groups of a value.
func isGroupSep(c byte) bool {
	switch c {
	case ' ', '-', '.', '/', '(', ')', ':':
		return true
	}
	return false
}

func (s *Stream) projEnd() int64 { return s.projBase + int64(len(s.proj)) }

// appendText adds the text p, at raw offset r, to the projection. The
// controls a terminal runs without drawing anything or moving the cursor
// (markOnly: NUL, BEL, SO, SI, DC1-DC4, DEL...) are left out, as escape
// sequences that do not move the cursor are: the terminal draws
// "123-45-\a6789" as one SSN, and so must the recognizers read it.
func (s *Stream) appendText(r int64, p []byte) {
	for len(p) > 0 {
		i := indexInvisible(p)
		if i > 0 {
			s.appendVisible(r, p[:i])
		}
		if i == len(p) {
			return
		}
		n := i + markOnlyRun(p[i:]) // NUL output comes in long runs
		r += int64(n)
		p = p[n:]
	}
}

// invisible finds markOnly controls a block at a time (bytescan), so that
// tokenize can tell at once that a write has none, which is most output:
// its text segments, short between escape sequences, then go to
// appendVisible without a look at each.
var invisible = func() *bytescan.Classes {
	var cls, after [256]uint8
	for c := range cls {
		after[c] = 1
		if markOnly[c] {
			cls[c] = 1
		}
	}
	return bytescan.NewClasses(&cls, &after)
}()

// indexInvisible returns the index of the first markOnly control in b, or
// len(b). b holds no ESC (text ends at one). It tests a word at a time,
// exactly, so that the line ends and tabs most text has cost nothing more:
// adding 0x80-n to the low seven bits of a byte sets its top bit exactly
// when they are at least n, without carrying into the next byte. A byte is
// flagged below 0x20 but not BS to CR (0x08-0x0d), or as DEL.
func indexInvisible(b []byte) int {
	const lsb, msb, low = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		y := x & low
		ctl := ^(y + lsb*(0x80-0x20) | x)                     // below 0x20
		mov := (y + lsb*(0x80-0x08)) &^ (y + lsb*(0x80-0x0e)) // 0x08-0x0d, or 0x88-0x8d
		del := ^((y ^ low + low) | x ^ low)                   // DEL
		if (ctl&^mov|del)&msb != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if markOnly[b[i]] {
			return i
		}
	}
	return len(b)
}

// appendVisible adds visible text p, at raw offset r, to the projection.
func (s *Stream) appendVisible(r int64, p []byte) {
	pe := s.projEnd()
	if n := len(s.segs); n > 0 {
		g := &s.segs[n-1]
		if !g.brk && g.p+g.n == pe && g.r+g.n == r {
			g.n += int64(len(p))
			s.proj = append(s.proj, p...)
			return
		}
	}
	s.segs = append(s.segs, segment{p: pe, r: r, n: int64(len(p))})
	s.proj = append(s.proj, p...)
}

func (s *Stream) appendBreak(start, end int64) {
	s.segs = append(s.segs, segment{p: s.projEnd(), r: start, n: 1, rn: end - start, brk: true})
	s.proj = append(s.proj, '\n')
}

// seg returns the index of the segment holding visible position p.
// Lookups mostly move forward through the text, so the previous answer is
// tried first.
func (s *Stream) seg(p int64) int {
	segs := s.segs
	if k := s.segHint; k < len(segs) && segs[k].p <= p {
		for ; k < len(segs) && k < s.segHint+4; k++ {
			if p < segs[k].p+segs[k].n {
				s.segHint = k
				return k
			}
		}
	}
	k := sort.Search(len(segs), func(k int) bool { return segs[k].p+segs[k].n > p })
	s.segHint = k
	return k
}

// rawAt returns the raw offset of visible position p.
func (s *Stream) rawAt(p int64) int64 {
	k := s.seg(p)
	if k == len(s.segs) {
		return s.rawTok
	}
	g := &s.segs[k]
	if g.brk {
		return g.r
	}
	return g.r + (p - g.p)
}

// capIndex returns the index into proj up to which every visible byte ends
// at or before raw offset limit, searching from segment k.
func (s *Stream) capIndex(k int, limit int64) int {
	for ; k < len(s.segs); k++ {
		g := &s.segs[k]
		if g.brk {
			if g.rawEnd() > limit {
				return int(g.p - s.projBase)
			}
			continue
		}
		if hi := limit - g.r + g.p; hi < g.p+g.n {
			return int(max(hi, g.p) - s.projBase)
		}
	}
	return len(s.proj)
}

// view returns the text a candidate whose match would start at base may
// read. A match must be decided within MaxHold raw bytes of its start: the
// view ends there, and drop reports that running out of text means no match
// rather than "wait for more". The limit is a property of the stream's
// content, never of its chunking, so the output stays the same.
func (s *Stream) view(base int64, final bool) (t text, drop bool) {
	k := s.seg(base)
	r := s.rawTok
	if k < len(s.segs) {
		g := &s.segs[k]
		r = g.r
		if !g.brk {
			r += base - g.p
		}
	}
	limit := r + int64(s.m.maxHold)
	if s.rawTok <= limit {
		return text{b: s.proj, eof: final}, s.rawTok == limit
	}
	return text{b: s.proj[:s.capIndex(k, limit)]}, true
}

// holdPoint returns the first visible position that must not be emitted
// yet: the earliest start of a match still undecided.
func (s *Stream) holdPoint() int64 {
	hp := s.projEnd()
	for i := range s.pending {
		hp = min(hp, s.pending[i].hold)
	}
	if s.m.on[recEmail] {
		hp = min(hp, s.emailTail())
	}
	return max(hp, s.frontier)
}

// emailTail returns where a match would start if the word at the end of the
// text turned out to be the local part of an e-mail address, or the end of
// the text. The first character is never held (and so never masked), which
// lets a single echoed letter through at once.
func (s *Stream) emailTail() int64 {
	b := s.proj
	n := len(b)
	none := s.projEnd()
	j := n - 1
	for j >= 0 && n-j <= 65 && kinds[b[j]]&kLocal != 0 {
		j--
	}
	start := j + 1
	if run := n - start; run < 2 || run > 64 || !isAlnum(b[start]) {
		return none
	}
	base := s.projBase + int64(start) + 1
	h := max(base, s.frontier)
	if h >= none || s.rawTok-s.rawAt(base) >= int64(s.m.maxHold) {
		return none
	}
	return h
}

// trim drops emitted raw bytes and visible text no longer needed as context.
func (s *Stream) trim(hp int64) {
	if s.borrowed {
		// Write copies what stays held.
	} else if s.rawOff == len(s.raw) {
		s.raw = s.raw[:0]
		s.rawOff = 0
	} else if s.rawOff >= compactMin && s.rawOff*2 >= len(s.raw) {
		n := copy(s.raw, s.raw[s.rawOff:])
		s.raw = s.raw[:n]
		s.rawOff = 0
	}
	keep := hp
	if s.ctxStall {
		keep = min(keep, s.ctxPos)
	}
	keep -= lookback
	drop := keep - s.projBase
	if drop < compactMin || drop*2 < int64(len(s.proj)) {
		return
	}
	n := copy(s.proj, s.proj[drop:])
	s.proj = s.proj[:n]
	s.projBase = keep
	k := 0
	for k < len(s.segs) && s.segs[k].p+s.segs[k].n <= keep && s.segs[k].rawEnd() <= s.rawBase {
		k++
	}
	s.segs = s.segs[:copy(s.segs, s.segs[k:])]
	s.segHint = 0
	for r, ends := range s.ctx {
		k := 0
		for k < len(ends) && ends[k] < keep {
			k++
		}
		if k > 0 {
			s.ctx[r] = ends[:copy(ends, ends[k:])]
		}
	}
}
