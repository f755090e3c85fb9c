package masking

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"math/rand/v2"
	"reflect"
	"slices"
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
// the same state, on random output dense in ESC, introducers,
// terminators, and 0xc2 before C1 and other bytes, split at random. Both
// must release, flushed, what one write of the whole does, findings in
// the same order.
func TestStringFilterPassesAsAppendWrite(t *testing.T) {
	m := newTestMasker(t, Config{})
	alphabet := []byte("\x1b\x1b\x1b]P_^X[m\a\\a1;- \x18\x1a7\x00\r\x7f\xc2\xc2\xc2\x9b\x9c\x85\xa0")
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
				!bytes.Equal(fast.seq, slow.seq) || fast.blind != slow.blind || fast.c2 != slow.c2 ||
				!reflect.DeepEqual(fast.findings, slow.findings) {
				t.Fatalf("round %d, after %q: shortcut gave %q (state %d), appendWrite %q (state %d)",
					round, in[:i+n], gotFast, fast.state, gotSlow, slow.state)
			}
		}
		once := &stringFilter{m: m}
		want := once.appendRelease(once.appendHeld(once.appendWrite(nil, in)))
		gotSlow = slow.appendRelease(slow.appendHeld(gotSlow))
		if !bytes.Equal(gotSlow, want) || !reflect.DeepEqual(slow.findings, once.findings) {
			t.Fatalf("round %d, %q: in writes %q %+v, at once %q %+v", round, in, gotSlow, slow.findings, want, once.findings)
		}
	}
	if shortcuts == 0 {
		t.Fatal("the shortcut was never taken: the test did not exercise it")
	}
}

// A C1 control encoded in UTF-8 is run by some terminals (VTE, wezterm)
// and dropped by others (xterm, ghostty): each becomes ESC \, a no-op to
// all of them outside a string and its end inside one, and is reported. A
// raw C1 byte, and 0xc2 before any other byte, are text and stay; a 0xc2
// at the end waits for the byte that decides it, and goes out as it is at
// the end of the stream.
func TestUTF8C1Neutralised(t *testing.T) {
	m := newTestMasker(t, Config{})
	c1 := func(off int64, n int) Finding { return Finding{Recognizer: "c1-control", Offset: off, Length: n} }
	ssnFP, err := m.Fingerprint("ssn", "123-45-6789")
	if err != nil {
		t.Fatal(err)
	}
	ssn := func(off int64, n int) Finding {
		return Finding{Recognizer: "ssn", Offset: off, Length: n, Fingerprint: ssnFP}
	}
	cases := []struct {
		in, want string
		findings []Finding
	}{
		{"a\xc2\x9bb", "a\x1b\\b", []Finding{c1(1, 2)}},
		{"\xc2\x80\xc2\x9f", "\x1b\\\x1b\\", []Finding{c1(0, 2), c1(2, 2)}},
		{"\xc2\xc2\x85", "\xc2\x1b\\", []Finding{c1(1, 2)}},
		{"\xc2\xa0 \xc2\xb0 \xc2\x7f \xc3\x85", "", nil},
		{"\x9b \x85 \x9d0;x\x9c", "", nil},
		// A 0xc2 at the end of the stream: '*', as another stream may
		// go on with a C1 byte.
		{"\xc2", "*", []Finding{c1(0, 1)}},
		{"x\xc2", "x*", []Finding{c1(1, 1)}},
		// Read across, as the terminals that drop the control draw it.
		{"id 123-45-\xc2\x856789 ok", "id ***-**-\x1b\\**** ok", []Finding{c1(10, 2), ssn(3, 13)}},
		{"id 123-45-\xc2\x9b0m6789 ok", "id 123-45-\x1b\\0m6789 ok", []Finding{c1(10, 2)}},
		// In escape sequences: ESC cancels the CSI, ESC ESC \ is ST alone.
		{"\x1b[1\xc2\x9bm", "\x1b[1\x1b\\m", []Finding{c1(3, 2)}},
		{"\x1b\xc2\x9d0;x\a", "\x1b\x1b\\0;x\a", []Finding{c1(1, 2)}},
		// U+009C ends a string where the filter sees it end.
		{"\x1b]0;a\xc2\x9cb\a", "\x1b]0;a\x1b\\b\a", []Finding{c1(5, 2)}},
		{"\x1b]0;SSN 123-45-6789 \xc2\x9c\a", "\x1b]0;SSN ***-**-**** \x1b\\\a",
			[]Finding{c1(20, 2), ssn(8, 11)}},
		{"\x1b]0;x\xc2\x9c123-45-6789 ok", "\x1b]0;x\x1b\\***-**-**** ok", []Finding{c1(5, 2), ssn(7, 11)}},
		// After a string a terminal ended early: masked up to the first,
		// which the filter takes for its terminator.
		{"\x1b]0;x\x18a\xc2\x9d1\xc2\x9c1", "\x1b]*;*\x18*\x1b\\1\x1b\\1",
			[]Finding{{Recognizer: "held", Offset: 1, Length: 5}, c1(7, 2), c1(10, 2)}},
	}
	for _, tc := range cases {
		want := tc.want
		if want == "" {
			want = tc.in
		}
		byOffset(tc.findings)
		for size := 1; size <= len(tc.in); size++ {
			p := m.NewPaced()
			var got []byte
			var fs []Finding
			for i := 0; i < len(tc.in); i += size {
				got = p.AppendWrite(got, time.Unix(0, 0), []byte(tc.in[i:min(i+size, len(tc.in))]))
				fs = append(fs, p.Findings()...)
			}
			got = p.AppendFlush(got)
			fs = append(fs, p.Findings()...)
			if string(got) != want {
				t.Fatalf("%q in chunks of %d: got %q, want %q", tc.in, size, got, want)
			}
			// The stream's findings and the filter's come in the order
			// each decided them, one after the other per write.
			byOffset(fs)
			if !reflect.DeepEqual(fs, tc.findings) && (len(fs) > 0 || len(tc.findings) > 0) {
				t.Fatalf("%q in chunks of %d: findings %+v, want %+v", tc.in, size, fs, tc.findings)
			}
		}
	}
}

// A 0xc2 at the end of a write waits for the next byte however long it
// takes, as it may start a C1 control; only the end of the stream lets it
// go, as '*': the session's other stream may go on with a C1 byte, which
// the terminal would join to a 0xc2.
func TestUTF8C1SplitByPause(t *testing.T) {
	m := newTestMasker(t, Config{})
	p := m.NewPaced()
	t0 := time.Unix(0, 0)
	if out := p.AppendWrite(nil, t0, []byte("a\xc2")); string(out) != "a" {
		t.Fatalf("write emitted %q, want the 0xc2 held", out)
	}
	if due, ok := p.Due(); ok {
		t.Fatalf("due at %v: the 0xc2 must wait for the next byte", due)
	}
	if out := p.AppendWrite(nil, t0.Add(time.Hour), []byte("\x9b0m\r\n")); string(out) != "\x1b\\0m\r\n" {
		t.Fatalf("the C1 byte after it gave %q, want ESC \\ for the pair", out)
	}
	if fs := p.Findings(); len(fs) != 1 || fs[0] != (Finding{Recognizer: "c1-control", Offset: 1, Length: 2}) {
		t.Fatalf("findings %+v, want one c1-control of the pair", fs)
	}
	if out := p.AppendFlush(p.AppendWrite(nil, t0.Add(2*time.Hour), []byte("b\xc2"))); string(out) != "b*" {
		t.Fatalf("flush gave %q, want the 0xc2 as '*'", out)
	}
	if fs := p.Findings(); len(fs) != 1 || fs[0] != (Finding{Recognizer: "c1-control", Offset: 8, Length: 1}) {
		t.Fatalf("findings %+v, want one c1-control of the 0xc2", fs)
	}
}

func byOffset(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int { return cmp.Compare(a.Offset, b.Offset) })
}
