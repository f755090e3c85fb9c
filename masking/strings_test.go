package masking

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestStringSequencePayloadsMasked(t *testing.T) {
	m := newTestMasker(t, Config{})
	clip := base64.StdEncoding.EncodeToString([]byte("ssn 123-45-6789"))
	plainClip := base64.StdEncoding.EncodeToString([]byte("hello"))
	cases := []struct {
		name, in, want string
	}{
		{"osc-title-bel", "\x1b]0;SSN 123-45-6789\aok", "\x1b]0;SSN ***-**-****\aok"},
		{"osc-title-st", "\x1b]2;jane.roe@example.org\x1b\\", "\x1b]2;j***.***@*******.***\x1b\\"},
		{"dcs", "\x1bP1;2|4111 1111 1111 1111\x1b\\", "\x1bP1;2|**** **** **** ****\x1b\\"},
		{"apc", "\x1b_123-45-6789\x1b\\", "\x1b_***-**-****\x1b\\"},
		{"osc52-value", "\x1b]52;c;" + clip + "\a", "\x1b]52;c;" + strings.Repeat("*", len(clip)) + "\a"},
		{"osc52-plain", "\x1b]52;c;" + plainClip + "\a", ""},
		{"osc-hyperlink-plain", "\x1b]8;;https://example.org/a\x1b\\link\x1b]8;;\x1b\\", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = tc.in
			}
			for size := 1; size <= len(tc.in); size++ {
				var chunks [][]byte
				var gaps []time.Duration
				for i := 0; i < len(tc.in); i += size {
					chunks = append(chunks, []byte(tc.in[i:min(i+size, len(tc.in))]))
					gaps = append(gaps, time.Millisecond)
				}
				if got := string(pacedRun(m, chunks, gaps)); got != want {
					t.Fatalf("chunks of %d: got %q, want %q", size, got, want)
				}
			}
		})
	}
}

// An open string sequence is not held past the deadline: it is released
// with its letters and digits masked, up to its terminator.
func TestOpenStringSequenceReleasedMasked(t *testing.T) {
	m := newTestMasker(t, Config{})
	got := pacedRun(m, [][]byte{[]byte("\x1b]0;title 123-45-"), []byte("6789\a after")},
		[]time.Duration{0, 2 * m.HoldDeadline()})
	if want := "\x1b]*;***** ***-**-****\a after"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	long := "\x1b]0;" + strings.Repeat("a", maxStringHold+10) + "\a"
	out := string(pacedRun(m, [][]byte{[]byte(long)}, []time.Duration{0}))
	if len(out) != len(long) || strings.Contains(out, "aaa") {
		t.Fatalf("an over-long sequence was not masked: %.40q", out)
	}
}

// passes is a shortcut for appendWrite on output with no string sequence:
// fed the same writes, a filter that takes the shortcut where it can and
// one that never does must release the same bytes and end each write in
// the same state, on random output dense in ESC, introducers and
// terminators, split at random.
func TestStringFilterPassesAsAppendWrite(t *testing.T) {
	m := newTestMasker(t, Config{})
	alphabet := []byte("\x1b\x1b\x1b]P_^X[m\a\\a1;- \x18\x1a7\x00\r\x7f")
	rng := rand.New(rand.NewPCG(3, 5))
	shortcuts := 0
	for round := range 3000 {
		in := make([]byte, 1+rng.IntN(300))
		for i := range in {
			in[i] = alphabet[rng.IntN(len(alphabet))]
		}
		fast, slow := &stringFilter{m: m}, &stringFilter{m: m}
		var gotFast, gotSlow []byte
		for i, n := 0, 0; i < len(in); i += n {
			n = min(1+rng.IntN(12), len(in)-i)
			c := in[i : i+n]
			if fast.passes(c) {
				gotFast = append(gotFast, c...)
				shortcuts++
			} else {
				gotFast = fast.appendWrite(gotFast, c)
			}
			gotSlow = slow.appendWrite(gotSlow, c)
			if !bytes.Equal(gotFast, gotSlow) || fast.state != slow.state || fast.off != slow.off ||
				!bytes.Equal(fast.seq, slow.seq) || fast.blind != slow.blind || len(fast.findings) != len(slow.findings) {
				t.Fatalf("round %d, after %q: shortcut gave %q (state %d), appendWrite %q (state %d)",
					round, in[:i+n], gotFast, fast.state, gotSlow, slow.state)
			}
		}
	}
	if shortcuts == 0 {
		t.Fatal("the shortcut was never taken: the test did not exercise it")
	}
}
