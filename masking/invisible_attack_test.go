package masking

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// invisibleControls are the C0 controls and DEL a terminal runs (or
// ignores) without drawing anything or moving the cursor: all but BS, HT,
// LF, VT, FF, CR and ESC. xterm ignores CAN and SUB outside a sequence too.
func invisibleControls() []byte {
	var cs []byte
	for c := range 0x20 {
		if !strings.ContainsRune("\b\t\n\v\f\r\x1b", rune(c)) {
			cs = append(cs, byte(c))
		}
	}
	return append(cs, 0x7f)
}

// Values with an invisible control inside: the terminal draws each whole,
// so each must come out masked as it is without the control, the control
// itself unchanged, whether the stream ends right after the value or goes
// on. The control goes where "%s" is; want is the masked output without it.
var invisibleAttackCases = []struct{ in, want string }{
	{"x 123-45-%s6789", "x ***-**-****"},
	{"x 123-45-%s6789.", "x ***-**-****."},
	{"x 123-45-%s6789 ok\r\n", "x ***-**-**** ok\r\n"},
	{"x 123-%s45-6789.", "x ***-**-****."},
	{"x 1%s23 45 6789 ok", "x *** ** **** ok"},
	{"4111 1111%s 1111 1111", "**** **** **** ****"},
	{"card 4111 1111 1111 1%s111.\r\n", "card **** **** **** ****.\r\n"},
	{"john%s.doe@example.com", "j***.***@*******.***"},
	{"to john.doe@exa%smple.com ok", "to j***.***@*******.*** ok"},
	{"john.doe%s@example.com.", "j***.***@*******.***."},
	{"call (555) 123-%s4567", "call (***) ***-****"},
	{"call 555-12%s3-4567 now\r\n", "call ***-***-**** now\r\n"},
}

// invisibleOutputs masks in through a Paced alone and through a Paced and
// a Screen of 80x24 and of no size, as the server does, written whole, cut
// into two writes at every byte and written a byte at a time, and calls
// check with each output.
func invisibleOutputs(t *testing.T, m *Masker, in string, check func(what, out string)) {
	t.Helper()
	chunkings := map[string][][]byte{"whole": {[]byte(in)}}
	bytewise := make([][]byte, len(in))
	for i := range len(in) {
		bytewise[i] = []byte{in[i]}
	}
	chunkings["byte by byte"] = bytewise
	for i := 1; i < len(in); i++ {
		chunkings[fmt.Sprintf("cut at %d", i)] = split(in, i)
	}
	for name, chunks := range chunkings {
		check(name+", paced", pacedOnly(m, chunks))
		check(name+", paced+screen 80x24", string(pipelineRun(m, 80, 24, chunks)))
		check(name+", paced+screen 0x0", string(pipelineRun(m, 0, 0, chunks)))
	}
}

// pacedOnly masks chunks through a Paced alone and flushes at the end.
func pacedOnly(m *Masker, chunks [][]byte) string {
	p := m.NewPaced()
	var out []byte
	for _, c := range chunks {
		out = p.AppendWrite(out, time.Unix(0, 0), c)
	}
	return string(p.AppendFlush(out))
}

func TestInvisibleControlInValue(t *testing.T) {
	m := newTestMasker(t, Config{})
	for _, tc := range invisibleAttackCases {
		at := strings.Index(tc.in, "%s")
		for _, c := range invisibleControls() {
			in := fmt.Sprintf(tc.in, string(c))
			want := tc.want[:at] + string(c) + tc.want[at:]
			invisibleOutputs(t, m, in, func(what, out string) {
				if out != want {
					t.Fatalf("%q, %s:\n got %q\nwant %q", in, what, out, want)
				}
			})
		}
	}
}

// Runs and mixes of invisible controls, a long NUL run among them, inside
// one value: the output must keep no part of the value unmasked.
func TestInvisibleControlRuns(t *testing.T) {
	m := newTestMasker(t, Config{})
	for _, tc := range []struct{ in, want string }{
		{"x 123\a-\x0e45-\x0f67\x7f89.", "x ***\a-\x0e**-\x0f**\x7f**."},
		{"x 123-45-" + strings.Repeat("\x00", 40) + "6789", "x ***-**-" + strings.Repeat("\x00", 40) + "****"},
		{"x 123-45-\x00\a\x05\x11\x12\x13\x14\x7f6789 ok", "x ***-**-\x00\a\x05\x11\x12\x13\x14\x7f**** ok"},
		{"j\aohn.d\x00oe@ex\x0eam\x0fple.c\x7fom", "j\a***.*\x00**@**\x0e**\x0f***.*\x7f**"},
	} {
		invisibleOutputs(t, m, tc.in, func(what, out string) {
			if out != tc.want {
				t.Fatalf("%q, %s:\n got %q\nwant %q", tc.in, what, out, tc.want)
			}
		})
	}
}

// A control that moves the cursor still separates: "123-45-\r6789" draws
// 6789 over the start of the line, no SSN.
func TestCursorControlStillSeparates(t *testing.T) {
	m := newTestMasker(t, Config{})
	for _, in := range []string{"ab 123-45-\r\n6789 x", "x 4111 1111\n1111 1111 x"} {
		if got := whole(m, in).out; got != in {
			t.Errorf("%q: got %q, want it unchanged", in, got)
		}
	}
}

// TestIndexInvisible compares the word-at-a-time search with the table,
// for every byte at every place of a block and on random text (text never
// holds ESC).
func TestIndexInvisible(t *testing.T) {
	want := func(b []byte) int {
		for i, c := range b {
			if markOnly[c] {
				return i
			}
		}
		return len(b)
	}
	for c := range 256 {
		for k := range 40 {
			b := []byte(strings.Repeat("abcdefgh\r\n", 4))
			if c == esc {
				continue
			}
			b[k] = byte(c)
			if got := indexInvisible(b); got != want(b) {
				t.Fatalf("%q: got %d, want %d", b, got, want(b))
			}
			if got := invisible.IndexTrigger(b, 0); got != want(b) {
				t.Fatalf("%q: invisible.IndexTrigger gives %d, want %d", b, got, want(b))
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		b := make([]byte, rng.IntN(48))
		for i := range b {
			if b[i] = byte(rng.IntN(256)); rng.IntN(3) == 0 {
				b[i] = byte(rng.IntN(0x21))
			}
			if b[i] == esc {
				b[i] = 'a'
			}
		}
		if got := indexInvisible(b); got != want(b) {
			t.Fatalf("%q: got %d, want %d", b, got, want(b))
		}
	}
	// Long text with a control or none, at any place: tokenize's check of
	// a whole write, a block at a time.
	for range 20000 {
		b := make([]byte, rng.IntN(300))
		for i := range b {
			b[i] = byte(0x20 + rng.IntN(0x5f))
		}
		if len(b) > 0 && rng.IntN(4) > 0 {
			c := byte(rng.IntN(0x20))
			if rng.IntN(8) == 0 {
				c = 0x7f
			}
			b[rng.IntN(len(b))] = c
		}
		if got := invisible.IndexTrigger(b, 0); got != want(b) {
			t.Fatalf("%q: invisible.IndexTrigger gives %d, want %d", b, got, want(b))
		}
	}
}
