package masking

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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
// follows. 8-bit C1 introducers are text to a UTF-8 terminal; C1 controls
// encoded in UTF-8 are not. In every case, cut into two writes at every
// byte and written a byte at a time, the output must not hold every part
// of the value unmasked, nor any C1 control encoded in UTF-8.
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
	// C1 controls encoded in UTF-8 (U+0080..U+009F): VTE and wezterm run
	// them (U+0085 NEL, U+009F APC, U+009D OSC, U+0090 DCS, U+009C ST),
	// xterm and ghostty draw nothing for them; either way the value is
	// drawn whole around a character the parsers take for text.
	"id 123-45-\xc2\x856789\r\n",
	"id 123-45-\xc2\x9f6789\r\n",
	"id 123-45-\xc2\x9d\xc2\x9c6789\r\n",
	"id 123-45-\xc2\x90\xc2\x9c6789\r\n",
	"id 123-45-\xc2\x9d\a6789\r\n",
	"\xc2\x9d0;123-45-6789\xc2\x9c",
	"\xc2\x9d0;123-45-6789\a",
	"\xc2\x900;123-45-6789\xc2\x9c",
	// U+009C ends a string an ESC started, where VTE and wezterm draw what
	// follows.
	"\x1b]0;x\xc2\x9c123-45-\a6789\r\n",
	"\x1b]0;x\xc2\x9c123-45-6789\a\r\n",
	"\x1bPx\xc2\x9c123-45-\x1b\\6789\r\n",
	"\x1b_x\xc2\x9c123-45-6789\x1b\\\r\n",
	// A clipboard write wrapped for tmux passthrough (ESC doubled).
	"\x1bPtmux;\x1b\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte("123-45-6789")) + "\a\x1b\\",
}

// C1 controls encoded in UTF-8 whose parameters or payload a terminal
// draws once the control is gone: the output must hold no such control,
// and what a terminal draws of it no value.
var c1AttackCases = []string{
	"id 123-45-\xc2\x9b0m6789\r\n",
	"id 123-45-\xc2\x9bm6789\r\n",
	"id 123-45-\xc2\x9d0;x\xc2\x9c6789\r\n",
	"id 123-45-\xc2\x9d0;x\a6789\r\n",
	"id 123-45-\xc2\x90x\xc2\x9c6789\r\n",
}

func TestStringSequenceAttacks(t *testing.T) {
	m := newTestMasker(t, Config{})
	for k, in := range append(stringAttackCases[:len(stringAttackCases):len(stringAttackCases)], c1AttackCases...) {
		parts := []string{"123-45-", "6789"}
		if strings.Contains(in, "tmux") {
			parts = []string{base64.StdEncoding.EncodeToString([]byte("123-45-6789"))}
		}
		if k >= len(stringAttackCases) {
			parts = []string{"123-45-6789"} // and what is drawn, below
		}
		checkAttack(t, m, in, parts, [2]int{0, 0}, [2]int{80, 24})
	}
}

// CSI sequences a terminal parses to their final byte where the
// tokenizer's parser ended them early: DEC STD 070 (xterm, VTE, the vte
// crate) ignores a CSI from a private marker after a parameter or a
// parameter byte after an intermediate on, through the final byte, and
// dispatches nothing; inside any CSI it runs C0 controls and drops DEL.
// The terminal draws the value around each whole.
var csiAttackCases = []string{
	"id 123-45-\x1b[1?m6789\r\n",
	"id 123-45-\x1b[1;?m6789\r\n",
	"id 123-45-\x1b[1>m6789\r\n",
	"id 123-45-\x1b[1<2m6789\r\n",
	"id 123-45-\x1b[?1?m6789\r\n",
	"id 123-45-\x1b[1=m6789\r\n",
	"id 123-45-\x1b[1 ?m6789\r\n",
	"id 123-45-\x1b[1\"?m6789\r\n",
	"id 123-45-\x1b[1?2;3?m6789\r\n",
	"id 123-45-\x1b[12 ;m6789\r\n",
	"id 123-45-\x1b[??m6789\r\n",
	"id 123-45-\x1b[1?2;3?4:5<6=7>8 !/m6789\r\n",
	// Ignored sequences whose final byte would move the cursor.
	"id 123-45-\x1b[1?2H6789\r\n",
	"id 123-45-\x1b[1 2C6789\r\n",
	// C0 controls the terminal runs and DEL it drops, inside a CSI.
	"id 123-45-\x1b[1?\x00m6789\r\n",
	"id 123-45-\x1b[\x00m6789\r\n",
	"id 123-45-\x1b[\a31m6789\r\n",
	"id 123-45-\x1b[1\x7fm6789\r\n",
	"id 123-45-\x1b[1?\x7f;m6789\r\n",
}

// CSI sequences whose C0 controls move the cursor, or that a terminal
// ignores where the screen model would run them, between the parts of a
// value that only a screen sees joined.
var csiScreenAttackCases = []string{
	"id 123-45-XXXX\x1b[\b\b\b\bm6789\r\n",
	"id 123-45-XXXX\x1b[1?\b\b\b\bm6789\r\n",
	"       6789\x1b[\r7m123-45-\r\n",
	// An ignored sequence the screen model must not run: the terminal
	// stays on the main screen, where the cursor completes the value.
	"id 123-45-\x1b[1?1049h\x1b[1;11H6789\r\n",
	"id 123-45-\x1b[1;?1049h\x1b[1;11H6789\r\n",
}

func TestCSIIgnoreAttacks(t *testing.T) {
	m := newTestMasker(t, Config{})
	for _, in := range csiAttackCases {
		checkAttack(t, m, in, []string{"123-45-", "6789"}, [2]int{0, 0}, [2]int{80, 24})
	}
	for _, in := range csiScreenAttackCases {
		checkAttack(t, m, in, []string{"123-45-", "6789"}, [2]int{80, 24}, [2]int{12, 3})
	}
}

// checkAttack runs in through pipelineRun, at once, a byte at a time and
// cut into two writes at every byte, with a screen of each size (0x0:
// none), and fails when the output holds every part unmasked, what a terminal draws
// of it the value, or a C1 control encoded in UTF-8.
func checkAttack(t *testing.T, m *Masker, in string, parts []string, sizes ...[2]int) {
	t.Helper()
	failed := false
	check := func(what string, chunks [][]byte) {
		for _, size := range sizes {
			out := pipelineRun(m, size[0], size[1], chunks)
			passed := true
			for _, part := range parts {
				passed = passed && bytes.Contains(out, []byte(part))
			}
			for _, vte := range []bool{false, true} {
				passed = passed || strings.Contains(drawn(out, vte), "123-45-6789")
			}
			if passed && !failed {
				failed = true
				t.Errorf("%q %s, %dx%d: the value passed: %q", in, what, size[0], size[1], out)
			}
			if at := utf8C1(out); at >= 0 && !failed {
				failed = true
				t.Errorf("%q %s, %dx%d: a C1 control encoded in UTF-8 at %d: %q", in, what, size[0], size[1], at, out)
			}
		}
	}
	check("whole", [][]byte{[]byte(in)})
	bytewise := make([][]byte, len(in))
	for i := range len(in) {
		bytewise[i] = []byte{in[i]}
	}
	check("byte by byte", bytewise)
	for i := 1; i < len(in); i++ {
		check(fmt.Sprintf("cut at %d", i), [][]byte{[]byte(in[:i]), []byte(in[i:])})
	}
}

// utf8C1 returns the offset of the first C1 control encoded in UTF-8 in b,
// or -1.
func utf8C1(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == 0xc2 && b[i+1] >= 0x80 && b[i+1] <= 0x9f {
			return i
		}
	}
	return -1
}

// drawn returns the text a terminal draws from b, a line feed for each
// control that moves to another line: escape sequences, CSI sequences and
// the payloads of string sequences draw nothing, as DEC STD 070 parses
// them (C0 controls run inside escape and CSI sequences; CAN and SUB
// cancel a sequence; an ESC not followed by '\\' ends a string), nor do
// other C0 controls; invalid UTF-8 draws U+FFFD. C1 controls encoded in
// UTF-8 are dropped, as xterm and ghostty do, or with vte run as their
// 7-bit forms, as VTE and wezterm do.
func drawn(b []byte, vte bool) string {
	const (
		ground = iota
		escape
		inter
		csi
		str
		strEsc
	)
	state := ground
	var out strings.Builder
	var feed func(c byte)
	feed = func(c byte) {
		if c == '\n' || c == '\r' || c == '\v' || c == '\f' {
			if state != str && state != strEsc {
				out.WriteByte('\n')
				return
			}
		}
		switch {
		case state == strEsc && c != '\\':
			state = escape
			feed(c)
			return
		case state == strEsc:
			state = ground
		case c == 0x18 || c == 0x1a:
			state = ground
		case c == 0x1b && state == str:
			state = strEsc
		case c == 0x1b:
			state = escape
		case state == str:
			if c == 0x07 {
				state = ground
			}
		case c < 0x20 || c == 0x7f:
		case state == ground:
			out.WriteByte(c)
		case state == escape && c == '[':
			state = csi
		case state == escape && strings.IndexByte("]P_^X", c) >= 0:
			state = str
		case (state == escape || state == inter) && c < 0x30:
			state = inter
		case state == csi && c < 0x40:
		default:
			state = ground
		}
	}
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		switch {
		case r < 0x80:
			feed(byte(r))
		case r <= 0x9f && n == 2:
			if vte {
				feed(0x1b)
				feed(byte(r - 0x40))
			}
		case state == ground:
			out.WriteRune(r)
		}
	}
	return out.String()
}
