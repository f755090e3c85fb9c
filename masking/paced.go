package masking

import "time"

// Paced applies the release rules of a Stream in time. Output that cannot
// become part of a value is emitted by Write at once. A held tail that may
// still become a value (Stream.Undecided) waits for the text that decides
// it, across writes at any pace, until HoldDeadline after it was first
// held; at the deadline it is released masked (fail closed), so a value
// printed in parts with pauses between them never reaches the output whole.
// A tail that cannot become a value (an incomplete character) is released
// raw after IdleFlush; but a 0xc2 that ends a write waits for the next
// byte or AppendFlush, as the two may encode a C1 control (strings.go).
//
// Time is passed in by the caller (now), so that tests model it exactly; the
// caller arms a timer for Due and calls Tick when it fires. A Paced is used
// by one goroutine at a time.
type Paced struct {
	s        *Stream
	strs     stringFilter // masks string sequences' payloads before s
	strSince time.Time    // when strs began holding
	in       []byte
	deadline time.Duration
	idle     time.Duration

	holding bool      // s holds bytes
	from    int64     // s.HeldFrom() when the held tail was first held
	since   time.Time // when the held tail was first held
	last    time.Time // the last write
}

// NewPaced returns a Paced over a new Stream.
func (m *Masker) NewPaced() *Paced {
	return &Paced{s: m.NewStream(), strs: stringFilter{m: m}, deadline: m.deadline, idle: m.idle}
}

// Stream returns the underlying stream, for Findings and Pending.
func (p *Paced) Stream() *Stream { return p.s }

// AppendWrite adds b, received at now, and appends to dst what may be
// emitted. dst must not overlap b.
func (p *Paced) AppendWrite(dst []byte, now time.Time, b []byte) []byte {
	was := p.strs.holding()
	in := b // most output holds no string sequence: no copy
	if !p.strs.passes(b) {
		p.in = p.strs.appendWrite(p.in[:0], b)
		in = p.in
	}
	if !was && p.strs.holding() {
		p.strSince = now
	}
	dst = p.s.AppendWrite(dst, in)
	p.last = now
	p.note(now)
	return dst
}

// Findings returns the values masked since the previous call, in the
// stream and in string sequences.
func (p *Paced) Findings() []Finding {
	f := p.s.Findings()
	if len(p.strs.findings) > 0 {
		f = append(f, p.strs.findings...)
		p.strs.findings = p.strs.findings[:0]
	}
	return f
}

// note starts the deadline clock when a new tail is held.
func (p *Paced) note(now time.Time) {
	if p.s.Pending() == 0 {
		p.holding = false
		return
	}
	if from := p.s.HeldFrom(); !p.holding || from != p.from {
		p.holding, p.from, p.since = true, from, now
	}
}

// Due returns when Tick must be called next, and false if nothing is held.
func (p *Paced) Due() (time.Time, bool) {
	if p.strs.holding() {
		return p.strSince.Add(p.deadline), true
	}
	if p.s.Pending() == 0 {
		return time.Time{}, false
	}
	if p.s.Undecided() {
		return p.since.Add(p.deadline), true
	}
	return p.last.Add(p.idle), true
}

// AppendTick appends to dst what the rules release at now: the held tail,
// masked, once its deadline has passed, or an incomplete character, raw,
// after IdleFlush without input.
func (p *Paced) AppendTick(dst []byte, now time.Time) []byte {
	due, ok := p.Due()
	if !ok || now.Before(due) {
		return dst
	}
	if p.strs.holding() {
		// The stream ends in the open sequence: nothing of it is held by s.
		p.in = p.strs.appendRelease(p.in[:0])
		dst = p.s.AppendWrite(dst, p.in)
		p.note(now)
		return dst
	}
	if p.s.Undecided() {
		dst = p.s.AppendFlushMasked(dst)
	} else {
		dst = p.s.AppendFlush(dst)
	}
	p.note(now)
	return dst
}

// AppendFlushClosed is AppendFlush failing closed: a tail that may still
// become a value is released masked. For the end of a stream whose
// terminal another stream goes on writing to (a value's parts could be
// split between them).
func (p *Paced) AppendFlushClosed(dst []byte) []byte {
	p.in = p.strs.appendRelease(p.strs.appendHeld(p.in[:0]))
	dst = p.s.AppendWrite(dst, p.in)
	if p.s.Undecided() {
		dst = p.s.AppendFlushMasked(dst)
	}
	return p.AppendFlush(dst)
}

// AppendFlush appends everything held, decided as at the end of the
// stream; for EOF.
func (p *Paced) AppendFlush(dst []byte) []byte {
	p.in = p.strs.appendRelease(p.strs.appendHeld(p.in[:0]))
	dst = p.s.AppendWrite(dst, p.in)
	dst = p.s.AppendFlush(dst)
	p.holding = false
	return dst
}
