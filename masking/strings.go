package masking

import (
	"bytes"
	"encoding/base64"
)

// The payloads of string sequences (OSC, DCS, APC, PM, SOS) reach the
// terminal too: window titles, hyperlinks, OSC 52 clipboard writes. The
// string filter holds such a sequence until its terminator (BEL or ESC \)
// and masks its payload in place before the Stream sees it; an OSC 52
// clipboard write whose decoded text holds a value is masked whole (the
// terminal then ignores it). A sequence longer than maxStringHold, or still
// open at the hold deadline, is released with every letter and digit masked
// from there to its terminator: fail closed. So is one that a terminal
// ends early (CAN, SUB, or an ESC that does not start ST), where what the
// terminal draws next looks like payload to the parsers after the filter.

// C1 controls encoded in UTF-8 (U+0080..U+009F, 0xc2 then 0x80..0x9f) look
// like text to the parsers after this filter, but not to a terminal: VTE
// and wezterm run them (U+009B is CSI, U+009D OSC, U+0090 DCS, U+009C ST,
// U+0085 NEL), xterm and ghostty draw nothing for them. Either way the
// terminal draws "123-45-" U+0085 "6789" as 123-45-6789, which the
// recognizers read as broken by a character, and VTE ends a string
// sequence early at U+009C. So the filter first turns each into ESC \, its
// two bytes for the control's two: a string terminator, which ends a
// string sequence (where the filter and every parser after it see the end
// too) and elsewhere is a no-op to every terminal and to the recognizers,
// which read a value across it as the terminals that drop the control draw
// it. Printable bytes would not do: "??" would leave a value readable and
// unmasked, and '?' inside a CSI is a private marker the tokenizer's
// parser and the terminals disagree on. Each is reported as a c1-control
// finding, the output being altered there. A 0xc2 at the end of a write
// is held until the next byte: the two may be a control. One still held
// at the end of the stream goes out as '*', also a finding: what the
// terminal receives next, from another stream of the session, may start
// with a C1 byte it would join to a 0xc2. A C1 byte alone, and 0xc2 before
// any other byte, are text and stay.

// recC1 names the findings of neutralised C1 controls.
const recC1 = "c1-control"

// maxStringHold bounds the bytes of one string sequence held back.
const maxStringHold = 4096

type stringFilter struct {
	m        *Masker
	state    uint8
	seq      []byte // the held sequence, from its introducer on
	blind    bool   // released early: mask the rest up to the terminator
	findings []Finding
	off      int64 // stream offset of the next byte in
	seqAt    int64 // stream offset of f.seq

	c2  bool      // a 0xc2 that ended a write is held: the next byte decides it
	c1  []Finding // the write's neutralised controls not yet in findings
	buf []byte    // the write with its controls neutralised
}

const (
	sfGround uint8 = iota
	sfEsc          // after ESC outside a string
	sfString       // in a string
	sfStrEsc       // ESC inside a string
)

func isStringIntro(c byte) bool { return c == ']' || c == 'P' || c == '_' || c == '^' || c == 'X' }

// escKeeps reports whether a terminal stays in an escape sequence at c: it
// runs C0 controls there (NUL, BEL, CR...) and ignores DEL, so that "ESC
// NUL P" still opens a DCS. CAN and SUB cancel the sequence.
func escKeeps(c byte) bool { return c < 0x20 && c != 0x18 && c != 0x1a && c != 0x1b || c == 0x7f }

// isC1Second reports whether c after 0xc2 encodes a C1 control.
func isC1Second(c byte) bool { return c >= 0x80 && c <= 0x9f }

// hasC1 reports whether p holds a C1 control encoded in UTF-8, or ends in
// a 0xc2 that may start one.
func hasC1(p []byte) bool {
	for i := 0; ; {
		k := bytes.IndexByte(p[i:], 0xc2)
		if k < 0 {
			return false
		}
		i += k + 1
		if i == len(p) || isC1Second(p[i]) {
			return true
		}
	}
}

// neutralize returns p with its C1 controls encoded in UTF-8 turned into
// ESC \, after the 0xc2 held from the previous write and without a 0xc2 at
// its end, which it holds; p itself when that changes nothing.
func (f *stringFilter) neutralize(p []byte) []byte {
	if !f.c2 && !hasC1(p) {
		return p
	}
	q := f.buf[:0]
	if f.c2 {
		q = append(q, 0xc2)
		f.c2 = false
	}
	q = append(q, p...)
	for i := 0; ; {
		k := bytes.IndexByte(q[i:], 0xc2)
		if k < 0 {
			break
		}
		i += k
		if i+1 == len(q) {
			f.c2 = true
			q = q[:i]
			break
		}
		if !isC1Second(q[i+1]) {
			i++
			continue
		}
		q[i], q[i+1] = 0x1b, '\\'
		f.c1 = append(f.c1, Finding{Recognizer: recC1, Offset: f.off + int64(i), Length: 2})
		i += 2
	}
	f.buf = q
	return q
}

// reportC1 moves the neutralised controls before offset end to findings,
// so that findings keep the order in which the stream decided them.
func (f *stringFilter) reportC1(end int64) {
	k := 0
	for k < len(f.c1) && f.c1[k].Offset < end {
		k++
	}
	if k > 0 {
		f.findings = append(f.findings, f.c1[:k]...)
		f.c1 = f.c1[:copy(f.c1, f.c1[k:])]
	}
}

// cutC2 is what a 0xc2 held at the end of a stream becomes.
var cutC2 = []byte{'*'}

// appendHeld appends to dst a 0xc2 held at the end of the stream, as '*'.
func (f *stringFilter) appendHeld(dst []byte) []byte {
	if !f.c2 {
		return dst
	}
	f.c2 = false
	f.c1 = append(f.c1, Finding{Recognizer: recC1, Offset: f.off, Length: 1})
	return f.run(dst, cutC2)
}

// appendWrite appends to dst the bytes of p that may go on, C1 controls
// neutralised and payloads masked.
func (f *stringFilter) appendWrite(dst, p []byte) []byte {
	return f.run(dst, f.neutralize(p))
}

// run is appendWrite after neutralize.
func (f *stringFilter) run(dst, p []byte) []byte {
	start := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch f.state {
		case sfGround:
			if c != 0x1b {
				k := bytes.IndexByte(p[i:], 0x1b)
				if k < 0 {
					k = len(p) - i
				}
				i += k - 1 // the loop steps onto the ESC, or past the end
				continue
			}
			f.state = sfEsc
		case sfEsc:
			f.state = sfGround
			if isStringIntro(c) {
				// The ESC may have gone in an earlier write; hold from here.
				dst = append(dst, p[start:i]...)
				start = i
				f.state = sfString
				f.seq = f.seq[:0]
				f.seqAt = f.off + int64(i)
			} else if c == 0x1b || escKeeps(c) {
				f.state = sfEsc
			}
		case sfString, sfStrEsc:
			end := c == 0x07 && f.state == sfString || c == '\\' && f.state == sfStrEsc
			// A terminal ends a string early at CAN or SUB, and at an ESC
			// that does not start ST, and draws what follows, which the
			// parsers after this filter may still take for the payload:
			// from there on, masked as a release does (fail closed).
			abort := c == 0x18 || c == 0x1a || f.state == sfStrEsc && c != '\\' && c != 0x1b
			if c == 0x1b {
				f.state = sfStrEsc
			} else {
				f.state = sfString
			}
			if f.blind {
				if c < 0x80 && isAlnum(c) || c >= 0x80 {
					dst = append(dst, p[start:i]...)
					dst = append(dst, '*')
					start = i + 1
				}
				if end {
					f.state, f.blind = sfGround, false
				}
				continue
			}
			if end {
				f.seq = append(f.seq, p[start:i+1]...)
				f.reportC1(f.off + int64(i))
				dst = f.appendMasked(dst, f.seqAt)
				start = i + 1
				f.state = sfGround
				continue
			}
			if abort || len(f.seq)+i+1-start > maxStringHold {
				f.seq = append(f.seq, p[start:i+1]...)
				start = i + 1
				f.reportC1(f.off + int64(i))
				dst = f.appendRelease(dst)
			}
		}
	}
	if f.state == sfString || f.state == sfStrEsc {
		if !f.blind {
			f.seq = append(f.seq, p[start:]...)
			start = len(p)
		}
	}
	dst = append(dst, p[start:]...)
	f.off += int64(len(p))
	f.reportC1(f.off)
	return dst
}

// passes reports whether p goes on unchanged, as it does when it neither
// starts nor continues a string sequence nor holds a C1 control, and then
// takes it as appendWrite would. Colour and cursor sequences pass: only an
// ESC followed by a string introducer, or by the end of p (the next write
// may bring the introducer), past the controls the escape keeps
// (escKeeps), needs appendWrite; so does a sequence open from an earlier
// write, a C1 control or a 0xc2 at the end of p, and any p after a held
// 0xc2. (After ESC ESC the second ESC is looked at in turn.)
func (f *stringFilter) passes(p []byte) bool {
	if f.state != sfGround || f.c2 || hasC1(p) {
		return false
	}
	for i := 0; ; {
		k := bytes.IndexByte(p[i:], 0x1b)
		if k < 0 {
			break
		}
		i += k + 1
		for i < len(p) && escKeeps(p[i]) {
			i++
		}
		if i == len(p) || isStringIntro(p[i]) {
			return false
		}
	}
	f.off += int64(len(p))
	return true
}

// holding reports whether a string sequence is held.
func (f *stringFilter) holding() bool {
	return (f.state == sfString || f.state == sfStrEsc) && !f.blind && len(f.seq) > 0
}

// appendRelease releases the held sequence with every letter, digit and
// non-ASCII byte after its introducer masked, and masks the rest of it as
// it comes.
func (f *stringFilter) appendRelease(dst []byte) []byte {
	if !f.holding() {
		return dst
	}
	dst = append(dst, f.seq[0])
	for _, c := range f.seq[1:] {
		if isAlnum(c) || c >= 0x80 {
			c = '*'
		}
		dst = append(dst, c)
	}
	f.findings = append(f.findings, Finding{Recognizer: "held", Offset: f.seqAt, Length: len(f.seq)})
	f.seq = f.seq[:0]
	f.blind = true
	return dst
}

// appendMasked appends the complete sequence f.seq (intro to terminator)
// with its payload masked; at is its stream offset.
func (f *stringFilter) appendMasked(dst []byte, at int64) []byte {
	seq := f.seq
	f.seq = f.seq[:0]
	term := 1
	if seq[len(seq)-1] == '\\' {
		term = 2
	}
	payload := seq[1 : len(seq)-term]
	if len(payload) == 0 {
		return append(dst, seq...)
	}
	o := len(dst)
	dst = append(dst, seq...)
	body := dst[o+1 : len(dst)-term]
	if seq[0] == ']' && bytes.HasPrefix(payload, []byte("52;")) {
		if k := bytes.IndexByte(payload[3:], ';'); k >= 0 {
			data := payload[3+k+1:]
			if dec, err := base64.StdEncoding.DecodeString(string(data)); err == nil {
				if _, fs := f.m.plain.MaskString(string(dec)); len(fs) > 0 {
					for i := 3 + k + 1; i < len(body); i++ {
						body[i] = '*'
					}
					f.findings = append(f.findings, Finding{Recognizer: fs[0].Recognizer, Offset: at, Length: len(seq), Fingerprint: fs[0].Fingerprint})
					return dst
				}
			}
		}
	}
	masked, fs := f.m.plain.MaskString(string(payload))
	copy(body, masked)
	for _, x := range fs {
		x.Offset += at + 1
		f.findings = append(f.findings, x)
	}
	return dst
}
