package masking

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// streamCases exercise the stream machinery: escape sequences cut anywhere,
// strings holding PHI-like text, UTF-8, invalid bytes, long runs.
var streamCases = []string{
	"\x1b]0;123-45-6789\x07after 123-45-6789",
	"\x1b]8;;https://example.com/?ssn=123-45-6789\x1b\\link\x1b]8;;\x1b\\",
	"\x1bP1$r0m\x1b\\ 123-45-6789 \x1b_apc 4111111111111111\x1b\\",
	"\x1b(B\x1b)0\x1b7\x1b8 555-123-4567\x1bM",
	"\x1b[?25l\x1b[2J\x1b[H\x1b[1;32mroot@host\x1b[0m:\x1b[1;34m~\x1b[0m$ ",
	"ESC in string \x1b]2;a\x1bb\x07 123-45-6789",
	"cancel \x1b]2;x\x18 123-45-6789 \x1b[12\x1a 123-45-6789",
	"\x9b123-45-6789 \xc2\x9b31m 123-45-6789",
	"nel 123-45-\xc2\x856789 \x1b]0;x\xc2\x9c123-45-\a6789 \xc2\x9d0;123-45-6789\xc2\x9c \x1b[1\xc2\x9bm \xc2\xa0\xc2\xc2\x90\xc2",
	"x 123-45-\a6789 \x00\x00 4111 1111\x0e 1111\x0f 1111 john\x7f.doe@exa\x11mple.com (555)\x05 123-4567 1\x1823-45-67\x1a89",
	"x 123-45-\a6789.",
	"a 123-45-" + strings.Repeat("\x00", 300) + "6789 b 123-" + strings.Repeat("\a\x0e", 20) + "45-6789",
	"\xff\xfe 123-45-6789 \xe2\x82 \xf0\x9f\x98\x80 4111 1111 1111 1111",
	"日本語のテキスト 123-45-6789 と john@example.com です",
	"\x1b[38;5;196m1\x1b[38;5;202m2\x1b[38;5;208m3\x1b[38;5;214m-\x1b[38;5;220m4\x1b[38;5;226m5\x1b[38;5;190m-\x1b[38;5;154m6\x1b[38;5;118m7\x1b[38;5;82m8\x1b[38;5;46m9\x1b[0m",
	"a\x1b[31mb\x1b[32mc\x1b[33md\x1b[34me\x1b[35mf\x1b[36mg\x1b[37mh\x1b[31mi\x1b[32mj\x1b[33mk\x1b[34ml\x1b[35mm\x1b[36mn\x1b[37mo\x1b[31mp\x1b[32mq\x1b[33mr\x1b[34ms\x1b[35mt\x1b[36mu\x1b[37mv\x1b[31mw\x1b[32mx\x1b[33my\x1b[0m@example.com",
	strings.Repeat("1-", 200) + " 123-45-6789",
	strings.Repeat("x", 70) + "@example.com and " + strings.Repeat("y", 63) + "@example.com",
	strings.Repeat("9", 300) + " 4111111111111111",
	"$ ls -l\r\ntotal 8\r\n-rw-r--r-- 1 root root 12 Jan 15 12:34 a.txt\r\n$ ",
	"patient\tMRN: 00123456\tDOB: 1980-01-02\temail: j.doe@example.org\tphone: (555) 123-4567\n",
	" id |   name   |    ssn      |   dob\n----+----------+-------------+------------\n  1 | J. Smith | 123-45-6789 | 1980-01-02\n",
	"\x1b]52;c;" + strings.Repeat("QUJD", 2000) + "\x07 123-45-6789",
	// CSI sequences a terminal ignores to their final byte, and C0
	// controls and DEL inside CSI sequences.
	"123-45-\x1b[1?m6789",
	"4111\x1b[1 ?;2m1111\x1b[?1?H1111\x1b[12 ;C1111",
	"123-45-\x1b[1?\x00\x7f\x08m6789 \x1b[1?\x1b[m1",
	"id 123-45-\x1b[1;?m\x1b[1>m\x1b[1<2m\x1b[?1?m\x1b[1=m\x1b[1 ?m\x1b[1\"?m\x1b[1?2;3?m\x1b[12 ;m6789 \x1b[1?\x18 123-45-\x1b[2?\x1a6789 \x1b[?25l\x1b[>c\x1b[=5u\x1b[38:2::255:0:0m\x1b[1 q\x1b[?2026$p 555-123-\x1b[\r4567",
}

// seedInputs returns every input of the test tables.
func seedInputs() []string {
	var in []string
	for _, c := range recCases {
		in = append(in, c.in)
	}
	for _, c := range ipCases {
		in = append(in, c.in)
	}
	for _, c := range fastPathCases {
		in = append(in, c.in)
	}
	return append(in, streamCases...)
}

type result struct {
	out      string
	pieces   []string
	findings []Finding
	maxHeld  int
}

// run writes chunks (flushing after those listed in flushAfter) and flushes
// at the end.
func run(m *Masker, chunks [][]byte, flushAfter map[int]bool) result {
	s := m.NewStream()
	var r result
	var out bytes.Buffer
	emit := func(b []byte) {
		out.Write(b)
		r.pieces = append(r.pieces, string(b))
	}
	for i, c := range chunks {
		emit(s.Write(c))
		r.maxHeld = max(r.maxHeld, s.Pending())
		r.findings = append(r.findings, s.Findings()...)
		if flushAfter[i] {
			emit(s.Flush())
		}
	}
	emit(s.Flush())
	r.findings = append(r.findings, s.Findings()...)
	if s.Pending() != 0 {
		panic("bytes held after Flush")
	}
	r.out = out.String()
	return r
}

func whole(m *Masker, in string) result {
	return run(m, [][]byte{[]byte(in)}, nil)
}

func split(in string, cuts ...int) [][]byte {
	var chunks [][]byte
	last := 0
	for _, c := range cuts {
		chunks = append(chunks, []byte(in[last:c]))
		last = c
	}
	return append(chunks, []byte(in[last:]))
}

// sameAtEverySplit checks that in, written byte by byte, cut at every
// byte, and (when it is at most pairsUpTo bytes long) cut at every pair of
// bytes, masks exactly as it does written whole.
func sameAtEverySplit(t *testing.T, name string, m *Masker, in string, pairsUpTo int) {
	t.Helper()
	want := whole(m, in)
	bytewise := make([][]byte, len(in))
	for i := range len(in) {
		bytewise[i] = []byte{in[i]}
	}
	sameResult(t, fmt.Sprintf("%s: %q byte by byte", name, in), run(m, bytewise, nil), want)
	for i := 1; i < len(in); i++ {
		sameResult(t, fmt.Sprintf("%s: %q split at %d", name, in, i), run(m, split(in, i), nil), want)
		for j := i + 1; j < len(in) && len(in) <= pairsUpTo; j++ {
			sameResult(t, fmt.Sprintf("%s: %q split at %d,%d", name, in, i, j), run(m, split(in, i, j), nil), want)
		}
	}
}

func sameResult(t *testing.T, what string, got, want result) {
	t.Helper()
	if got.out != want.out {
		t.Fatalf("%s: output differs from a single write\n got %q\nwant %q", what, got.out, want.out)
	}
	if !reflect.DeepEqual(got.findings, want.findings) && (len(got.findings) > 0 || len(want.findings) > 0) {
		t.Fatalf("%s: findings differ\n got %+v\nwant %+v", what, got.findings, want.findings)
	}
}

var testConfigs = []struct {
	name string
	cfg  Config
}{
	{"default", Config{}},
	{"label", Config{Style: StyleLabel}},
	{"all-small-hold", Config{MaxHold: 64, Recognizers: allOn.Recognizers, Custom: []CustomPattern{{Name: "claim", Pattern: `(?i)cl-\d{4,}`}}}},
	{"context-label", Config{Style: StyleLabel, MaxHold: 96,
		Recognizers: map[string]RecognizerConfig{"npi": {RequireContext: off()}, "mrn": {Context: []string{"mrn", "patient id", "id"}}},
		Custom:      []CustomPattern{{Name: "member", Pattern: `(?i)mem-[a-z0-9]{4,}|\d{3}[a-z]`, Context: []string{"member", "mbr#"}}}}},
}

func TestChunkingInvariant(t *testing.T) {
	for _, tc := range testConfigs {
		m := newTestMasker(t, tc.cfg)
		t.Run(tc.name, func(t *testing.T) {
			for _, in := range seedInputs() {
				want := whole(m, in)
				bytewise := make([][]byte, len(in))
				for i := 0; i < len(in); i++ {
					bytewise[i] = []byte{in[i]}
				}
				sameResult(t, fmt.Sprintf("%q byte by byte", in), run(m, bytewise, nil), want)
				if len(in) > 300 {
					continue
				}
				for i := 1; i < len(in); i++ {
					sameResult(t, fmt.Sprintf("%q split at %d", in, i), run(m, split(in, i), nil), want)
					for j := i + 1; j < len(in) && len(in) <= 40 && tc.name == "default"; j++ {
						sameResult(t, fmt.Sprintf("%q split at %d,%d", in, i, j), run(m, split(in, i, j), nil), want)
					}
				}
			}
		})
	}
}

// TestFlushInvariant checks that with flushes at the same places in the
// content, chunking still does not matter.
func TestFlushInvariant(t *testing.T) {
	m := newTestMasker(t, Config{})
	in := "DOB: 01/02/1980 call 555-123-4567 mail ann@example.com"
	for f := 1; f < len(in); f++ {
		want := run(m, split(in, f), map[int]bool{0: true})
		for c := 1; c < len(in); c++ {
			var chunks [][]byte
			flush := map[int]bool{}
			if c < f {
				chunks = split(in, c, f)
				flush[1] = true
			} else if c > f {
				chunks = split(in, f, c)
				flush[0] = true
			} else {
				continue
			}
			sameResult(t, fmt.Sprintf("flush at %d, cut at %d", f, c), run(m, chunks, flush), want)
		}
	}
}

func TestFlushMidValue(t *testing.T) {
	m := newTestMasker(t, Config{})
	s := m.NewStream()
	var got []byte
	got = append(got, s.Write([]byte("mail jo"))...)
	got = append(got, s.Flush()...) // the idle timer fired inside the address
	got = append(got, s.Write([]byte("hn@example.com "))...)
	got = append(got, s.Flush()...)
	// What was flushed is out; the rest of the address is still masked.
	if string(got) != "mail jo**@*******.*** " {
		t.Errorf("got %q", got)
	}
}

func TestHoldBack(t *testing.T) {
	m := newTestMasker(t, Config{})
	s := m.NewStream()
	steps := []struct{ in, out string }{
		{"$ ", "$ "},
		{"l", "l"},
		{"s", ""},
		{" ", "s "},
		{"\x1b[3", "\x1b[3"}, // an escape sequence is never held
		{"1m", "1m"},
		{"1", ""}, // a digit may start a number
		{"23-45-678", ""},
		{"9", ""},
		{"\r\n", "***-**-****\r\n"},
		{"é", "é"},
		{"\xe2\x82", ""}, // incomplete UTF-8 character
		{"\xac", "€"},
		{"\x1b]0;title", "\x1b]0;title"},
		{"\x1b", ""}, // may start the ESC \ terminator
		{"\\", "\x1b\\"},
	}
	for _, st := range steps {
		if got := string(s.Write([]byte(st.in))); got != st.out {
			t.Fatalf("Write(%q) = %q, want %q", st.in, got, st.out)
		}
	}
	if s.Pending() != 0 {
		t.Errorf("Pending() = %d, want 0", s.Pending())
	}
}

func TestHoldBounded(t *testing.T) {
	for _, hold := range []int{64, 256} {
		m := newTestMasker(t, Config{MaxHold: hold, Recognizers: allOn.Recognizers})
		for _, in := range []string{
			strings.Repeat("1 ", 2000),
			strings.Repeat("a.", 2000),
			strings.Repeat("\x1b[31m1\x1b[0m-", 500),
			"x" + strings.Repeat("\x1b[1m\x1b[0m", 300) + "y@example.com",
			"DOB " + strings.Repeat("\x1b[1m", 300) + "01/02/1980",
		} {
			r := run(m, split(in, seqCuts(len(in), 7)...), nil)
			if r.maxHeld > hold+3 {
				t.Errorf("MaxHold %d: held %d bytes of %.20q...", hold, r.maxHeld, in)
			}
			sameResult(t, "bounded", r, whole(m, in))
		}
	}
}

func seqCuts(n, step int) []int {
	var c []int
	for i := step; i < n; i += step {
		c = append(c, i)
	}
	return c
}

// escapeBytes marks the bytes of escape sequences in b, found by the ansi
// parser on the whole input, and by csiScan for CSI sequences.
func escapeBytes(b []byte) []bool {
	mark := make([]bool, len(b))
	for i := 0; i < len(b); {
		if b[i] != esc {
			i++
			continue
		}
		_, _, n, _ := ansi.DecodeSequence(b[i:], ansi.NormalState, nil)
		if i+1 < len(b) && b[i+1] == '[' {
			var c csiScan
			n, _ = c.scan(b[i+2:])
			n += 2
		}
		for k := i; k < i+n; k++ {
			mark[k] = true
		}
		i += max(n, 1)
	}
	return mark
}

// checkSameLength verifies the same-length property: same length, escape
// sequences and other non-alphanumeric bytes unchanged, letters and digits
// (and bytes of multi-byte characters) either kept or replaced by '*'.
func checkSameLength(t testing.TB, in, out []byte) {
	t.Helper()
	if len(in) != len(out) {
		t.Fatalf("length %d, want %d for %q", len(out), len(in), in)
	}
	escs := escapeBytes(in)
	for i := range in {
		if in[i] == out[i] {
			continue
		}
		if escs[i] || out[i] != '*' || !(isAlnum(in[i]) || in[i] >= 0x80) {
			t.Fatalf("byte %d changed from %q to %q in %q -> %q", i, in[i], out[i], in, out)
		}
	}
}

func TestSameLengthProperty(t *testing.T) {
	m := newTestMasker(t, testConfigs[2].cfg)
	for _, in := range seedInputs() {
		checkSameLength(t, []byte(in), []byte(whole(m, in).out))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		in := randomTerminal(rng, 400)
		r := run(m, randomChunks(rng, in), nil)
		checkSameLength(t, in, []byte(r.out))
		sameResult(t, "random", r, whole(m, string(in)))
	}
}

// TestUTF8NotSplit checks that no emitted piece ends inside a character.
func TestUTF8NotSplit(t *testing.T) {
	m := newTestMasker(t, Config{})
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		in := randomTerminal(rng, 300)
		if !utf8.Valid(in) {
			continue
		}
		for _, p := range run(m, randomChunks(rng, in), nil).pieces {
			if !utf8.ValidString(p) {
				t.Fatalf("piece %q of %q is not valid UTF-8", p, in)
			}
		}
	}
}

var fragments = []string{
	"123-45-6789", "4111 1111 1111 1111", "john.doe@example.com", "(555) 123-4567", "+1 555 123 4567",
	"DOB: ", "01/02/1980", "Jan 5, 1980", "MRN ", "00123456", "NPI ", "1234567893", "1EG4-TE5-MK73",
	"10.0.0.1", "fe80::1", "cl-12345", "2024-01-15 12:34:56", "1.2.3-45", " ", "  ", "\n", "\r\n", "\t", "-", ".", "@", "(", "+",
	"\x1b[31m", "\x1b[0m", "\x1b[K", "\x1b[5;1H", "\x1b]0;title 123-45-6789\x07", "\x1b]8;;http://x\x1b\\", "\x1bP0;1|a\x1b\\",
	"\x1b(B", "\x1b7", "\x1b", "\x1b[", "\x1b]", "é", "€", "😀", "日本", "\xff", "\xc3", "\x9b", "a", "Z", "0", "9",
	"member ", "MBR#", "mem-ab12", "123x", "patient id ", "ID:", "DOB", "born ", "September ", "3rd, ",
}

func randomTerminal(rng *rand.Rand, n int) []byte {
	var b []byte
	for len(b) < n {
		b = append(b, fragments[rng.IntN(len(fragments))]...)
	}
	return b
}

func randomChunks(rng *rand.Rand, in []byte) [][]byte {
	var chunks [][]byte
	for len(in) > 0 {
		n := min(1+rng.IntN(12), len(in))
		chunks = append(chunks, in[:n])
		in = in[n:]
	}
	return chunks
}

// TestResultsStable checks that a result is not changed by later calls.
func TestResultsStable(t *testing.T) {
	m := newTestMasker(t, Config{})
	s := m.NewStream()
	var kept [][]byte
	var want []string
	for i := 0; i < 3000; i++ {
		out := s.Write([]byte(fmt.Sprintf("line %d 123-45-6789 abc\n", i)))
		kept = append(kept, out)
		want = append(want, string(out))
	}
	for i := range kept {
		if string(kept[i]) != want[i] {
			t.Fatalf("result %d changed from %q to %q", i, want[i], kept[i])
		}
	}
	// Results must not share spare capacity either.
	a := s.Write([]byte("x "))
	b := s.Write([]byte("y "))
	_ = append(a, "zz"...)
	if string(b) != "y " {
		t.Fatalf("appending to a result changed the next one: %q", b)
	}
}

// TestAppendWrite checks the appending variants and that the input is only
// read.
func TestAppendWrite(t *testing.T) {
	m := newTestMasker(t, Config{})
	s := m.NewStream()
	in := []byte("a 123-45-6789 b 1")
	orig := string(in)
	out := s.AppendWrite([]byte("prefix:"), in)
	out = s.AppendFlush(out)
	if string(in) != orig {
		t.Errorf("input changed to %q", in)
	}
	if want := "prefix:a ***-**-**** b 1"; string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
	fs := s.Findings()
	if len(fs) != 1 || fs[0].Offset != 2 || fs[0].Length != 11 {
		t.Errorf("findings %+v: offsets must count stream bytes only", fs)
	}
	if s.Findings() != nil {
		t.Error("Findings does not drain")
	}
}

// A reset Stream reads a text as a new one does, whatever it read before.
func TestStreamResetIsNew(t *testing.T) {
	m := newTestMasker(t, Config{})
	reused := m.NewStream()
	for _, in := range seedInputs() {
		fresh := m.NewStream()
		want := string(fresh.Write([]byte(in))) + string(fresh.Flush())
		wantF := fresh.Findings()
		reused.reset()
		got := string(reused.Write([]byte(in))) + string(reused.Flush())
		if gotF := reused.Findings(); got != want || !reflect.DeepEqual(gotF, wantF) {
			t.Errorf("%q: reset stream gives %q %v, a new one %q %v", in, got, gotF, want, wantF)
		}
	}
}
