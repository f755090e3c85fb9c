package masking

import (
	"bytes"
	"errors"
	"strings"
	"time"

	"github.com/bastion-ssh/bastion/internal/bytescan"
)

// Masker holds a compiled configuration. It is immutable and safe for
// concurrent use; each output stream gets its own Stream.
type Masker struct {
	recs     []recognizer     // built-ins (by rec* index), then custom patterns
	on       [numBuiltin]bool // built-ins switched on
	regex    []int            // indices of the pattern recognizers in use
	label    bool             // "label" style
	maxHold  int
	idle     time.Duration
	deadline time.Duration
	key      []byte
	plain    *Masker // this Masker in the same-length style (for Screen)

	cls         [256]uint8      // trigger classes
	clsCtx      [256]uint8      // cls plus triggers that count only after context words
	winRecs     []int           // recognizers with such triggers
	numTab      [20][256]uint16 // shapeKinds by run length and next byte
	numFree     [20][256]uint16 // numTab without the kinds that need context
	plainDigits [2]bool         // in cls, clsCtx: digits trigger only numeric recognizers
	anyCtx      bool            // some recognizer needs context words
	ctxFirst    [256]bool       // first bytes of context words, both cases
	ctxWords    [256][]ctxWord  // context words by lower-case first byte
	ctxSecond   [256][4]uint64  // by lower-case first byte: lower-case second bytes

	// cls and clsCtx with afterMask, for the scan's skip to the next
	// trigger.
	skip [2]*bytescan.Classes
}

// New validates cfg and returns a Masker. fingerprintKey keys the HMAC of
// the fingerprints in findings; it must be at least 16 bytes and should be a
// secret of the deployment, stable across restarts so that fingerprints can
// be compared over time. Configuration errors are *ConfigError values
// naming the field, and match ErrInvalidConfig.
func New(cfg Config, fingerprintKey []byte) (*Masker, error) {
	if len(fingerprintKey) < minKeyLen {
		return nil, ErrFingerprintKey
	}
	m := &Masker{key: bytes.Clone(fingerprintKey)}
	if err := m.compile(cfg); err != nil {
		return nil, err
	}
	m.buildTables()
	m.plain = m
	if m.label {
		c := *m
		c.label = false
		m.plain = &c
	}
	return m, nil
}

// IdleFlush returns how long the caller should wait without new output
// before calling Stream.Flush.
func (m *Masker) IdleFlush() time.Duration { return m.idle }

// HoldDeadline returns how long a tail that may still become a value is
// held before it is released masked.
func (m *Masker) HoldDeadline() time.Duration { return m.deadline }

// SameLength reports whether masking keeps the length of the output (the
// "same-length" style), so that output offsets equal input offsets.
func (m *Masker) SameLength() bool { return !m.label }

// MaxHold returns the most bytes a Stream holds back (not counting an
// incomplete UTF-8 character).
func (m *Masker) MaxHold() int { return m.maxHold }

// MaskString masks a complete string, such as a command line for a session
// header or an audit event, and returns the findings.
func (m *Masker) MaskString(s string) (string, []Finding) {
	st := m.NewStream()
	var b strings.Builder
	b.Write(st.Write([]byte(s)))
	b.Write(st.Flush())
	return b.String(), st.Findings()
}

// Fingerprint returns the fingerprint a finding of the named recognizer
// carries for value, so that an auditor who knows a value can look for it in
// findings without the findings holding it.
func (m *Masker) Fingerprint(recognizer, value string) (string, error) {
	for i := range m.recs {
		if m.recs[i].name == recognizer {
			return fingerprint(m.key, m.recs[i].norm, []byte(value)), nil
		}
	}
	return "", errors.New("masking: unknown recognizer " + recognizer)
}

// recHeld is the recognizer index of text masked because it was still held
// at a deadline (Stream.AppendFlushMasked).
const recHeld = -1

func (m *Masker) recName(rec int) string {
	if rec == recHeld {
		return "held"
	}
	return m.recs[rec].name
}

func (m *Masker) recLabel(rec int) []byte {
	if rec == recHeld {
		return []byte("[HELD]")
	}
	return m.recs[rec].label
}

func (m *Masker) buildTables() {
	on := func(r int) bool { return m.on[r] }
	if on(recSSN) || on(recITIN) || on(recCard) || on(recPhone) || on(recDOB) || on(recNPI) || on(recMBI) || on(recIPv4) || on(recIPv6) {
		for c := '0'; c <= '9'; c++ {
			m.cls[c] |= cDigit
		}
	}
	if on(recEmail) {
		m.cls['@'] |= cAt
	}
	if on(recPhone) {
		m.cls['('] |= cPhone
		m.cls['+'] |= cPhone
	}
	if on(recDOB) {
		for _, c := range "jfmasondJFMASOND" {
			m.clsCtx[c] |= cMonth
		}
		m.winRecs = append(m.winRecs, recDOB)
	}
	if on(recIPv6) {
		for _, c := range "abcdefABCDEF:" {
			m.cls[c] |= cHex
		}
	}
	for i := range m.recs {
		r := &m.recs[i]
		if i < numBuiltin && !m.on[i] {
			continue
		}
		if r.re != nil {
			m.regex = append(m.regex, i)
			cls := &m.cls
			if r.require {
				cls = &m.clsCtx
				m.winRecs = append(m.winRecs, i)
			}
			for c, ok := range r.first {
				if ok {
					cls[c] |= cRegex
				}
			}
		}
		if len(r.ctx) == 0 {
			continue
		}
		for _, w := range r.ctx {
			c := w[0]
			m.anyCtx = true
			m.ctxFirst[c] = true
			m.ctxFirst[c-'a'+'A'] = true
			m.ctxWords[c] = append(m.ctxWords[c], newCtxWord(w, i))
			if len(w) > 1 {
				m.ctxSecond[c][w[1]>>6] |= 1 << (w[1] & 63)
			}
			if len(w) == 1 {
				m.ctxSecond[c] = [4]uint64{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}
			}
		}
	}
	for c := range m.cls {
		if m.ctxFirst[c] {
			m.cls[c] |= cCtx
		}
		m.clsCtx[c] |= m.cls[c]
	}
	m.skip = [2]*bytescan.Classes{bytescan.NewClasses(&m.cls, &afterMask), bytescan.NewClasses(&m.clsCtx, &afterMask)}
	for n := 1; n < len(m.numTab); n++ {
		for c := range 256 {
			m.numTab[n][c] = shapeKinds(&m.on, n, byte(c))
			m.numFree[n][c] = m.numTab[n][c] &^ needCtx(n)
		}
	}
	m.plainDigits = [2]bool{true, true}
	for c := '0'; c <= '9'; c++ {
		m.plainDigits[0] = m.plainDigits[0] && m.cls[c] == cDigit
		m.plainDigits[1] = m.plainDigits[1] && m.clsCtx[c] == cDigit
	}
}
