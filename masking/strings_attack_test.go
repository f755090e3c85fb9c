package masking

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// pipelineRun masks chunks as the server does: each write through a Paced
// (string filter, then Stream) and what it releases through a Screen of
// cols x rows.
func pipelineRun(m *Masker, cols, rows int, chunks [][]byte) []byte {
	p := m.NewPaced()
	sc := m.NewScreen(cols, rows)
	now := time.Unix(0, 0)
	var out []byte
	feed := func(b []byte) {
		if len(b) > 0 {
			sc.Mask(b, int64(len(out)))
			out = append(out, b...)
		}
	}
	for _, c := range chunks {
		now = now.Add(time.Millisecond)
		feed(p.AppendWrite(nil, now, c))
	}
	feed(p.AppendFlush(nil))
	return out
}

// String sequences a terminal ends early, or that it does not take as
// such, around a value whose parts the string filter and the parsers after
// it might see as payload while the terminal draws them. A terminal (DEC
// STD 070, as xterm, VTE and the vte crate parse) aborts a control string
// at CAN or SUB and at an ESC that does not start ST, and draws what
// follows. 8-bit C1 introducers are text to a UTF-8 terminal. In every
// case, cut into two writes at every byte and written a byte at a time,
// the output must not hold every part of the value unmasked.
var stringAttackCases = []string{
	// Aborted by CAN or SUB, the value's rest after the abort.
	"id 123-45-\x1b]0;x\x186789\a\r\n",
	"id 123-45-\x1b]0;x\x1a6789\a\r\n",
	"\x1b]0;x\x18123-45-\a6789\r\n",
	"\x1b]0;x\x18123-45-6789\a\r\n",
	"\x1bP1|x\x18123-45-\x1b\\6789\r\n",
	"\x1b_x\x1a123-45-\x1b\\6789\r\n",
	// Aborted by an ESC sequence that is not ST (DECSC, SGR, ESC ESC 7).
	"id 123-45-\x1b]0;x\x1b76789\a\r\n",
	"id 123-45-\x1b]0;x\x1b76789\x1b\\\r\n",
	"\x1b]0;x\x1b7123-45-\a6789\r\n",
	"\x1b]0;x\x1b[m123-45-\a6789\r\n",
	"\x1b]0;x\x1b\x1b7123-45-\a6789\r\n",
	// ESC and introducer in separate writes, ESC ESC ], inside CSI.
	"\x1b]0;123-45-6789\a",
	"\x1b\x1b]0;123-45-6789\a",
	"\x1b[\x1b]0;123-45-6789\a",
	"\x1b[1;\x1bP123-45-6789\x1b\\",
	// Controls between ESC and the introducer: CAN and SUB cancel the
	// escape (the rest is drawn), NUL and DEL are ignored inside it (the
	// string is a string), other C0 controls run there.
	"\x1b\x18]0;123-45-6789\a",
	"\x1b\x1a]0;123-45-6789\a",
	"\x1b\x00]0;123-45-6789\a",
	"\x1b\x7f]0;123-45-6789\a",
	"\x1b\x07]0;123-45-6789\a",
	"\x1b\r]0;123-45-6789\a",
	"\x1b\x00P123-45-6789\x1b\\",
	"\x1b]0;\x00123-45-6789\a",
	"\x1b]0;x\x1b\x00\\123-45-6789\a",
	// 8-bit C1 introducers: text to a UTF-8 terminal, masked as text.
	"\x9d0;123-45-6789\a",
	"\x900;123-45-6789\x9c",
	"id 123-45-\x9d6789\a",
	// A clipboard write wrapped for tmux passthrough (ESC doubled).
	"\x1bPtmux;\x1b\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte("123-45-6789")) + "\a\x1b\\",
}

func TestStringSequenceAttacks(t *testing.T) {
	m := newTestMasker(t, Config{})
	for _, in := range stringAttackCases {
		parts := []string{"123-45-", "6789"}
		if strings.Contains(in, "tmux") {
			parts = []string{base64.StdEncoding.EncodeToString([]byte("123-45-6789"))}
		}
		failed := false
		check := func(what string, chunks [][]byte) {
			for _, size := range [][2]int{{0, 0}, {80, 24}} {
				out := pipelineRun(m, size[0], size[1], chunks)
				passed := true
				for _, part := range parts {
					passed = passed && bytes.Contains(out, []byte(part))
				}
				if passed && !failed {
					failed = true
					t.Errorf("%q %s, %dx%d: the value passed: %q", in, what, size[0], size[1], out)
				}
			}
		}
		check("whole", [][]byte{[]byte(in)})
		bytewise := make([][]byte, len(in))
		for i := range in {
			bytewise[i] = []byte{in[i]}
		}
		check("byte by byte", bytewise)
		for i := 1; i < len(in); i++ {
			check(fmt.Sprintf("cut at %d", i), [][]byte{[]byte(in[:i]), []byte(in[i:])})
		}
	}
}
