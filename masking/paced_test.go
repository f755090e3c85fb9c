package masking

import (
	"reflect"
	"testing"
	"time"
)

// pacedRun writes chunks through a Paced whose clock the test drives:
// before each chunk the clock advances by its gap, and every tick that
// falls due meanwhile runs at its due time. No real time passes.
func pacedRun(m *Masker, chunks [][]byte, gaps []time.Duration) []byte {
	p := m.NewPaced()
	now := time.Unix(0, 0)
	var out []byte
	for i, c := range chunks {
		next := now.Add(gaps[i])
		for {
			due, ok := p.Due()
			if !ok || due.After(next) {
				break
			}
			out = p.AppendTick(out, due)
		}
		now = next
		out = p.AppendWrite(out, now, c)
	}
	return p.AppendFlush(out)
}

func TestPacedHoldsAcrossPauses(t *testing.T) {
	m := newTestMasker(t, Config{})
	ms := time.Millisecond
	cases := []struct {
		name   string
		chunks []string
		gaps   []time.Duration
		want   string
	}{
		{"pause-shorter-than-deadline", []string{"123-45-", "6789\n"}, []time.Duration{0, 200 * ms}, "***-**-****\n"},
		{"digit-by-digit", []string{"1", "2", "3", "-", "4", "5", "-", "6", "7", "8", "9", "\n"},
			[]time.Duration{0, 90 * ms, 90 * ms, 90 * ms, 90 * ms, 90 * ms, 90 * ms, 90 * ms, 90 * ms, 90 * ms, 90 * ms, 90 * ms}, "***-**-****\n"},
		{"pause-past-deadline", []string{"123-45-", "6789\n"}, []time.Duration{0, 2 * time.Second}, "***-**-****\n"},
		{"undecidable-prefix-masked", []string{"id 12", "\n"}, []time.Duration{0, 2 * time.Second}, "id **\n"},
		{"ordinary-text-unheld", []string{"$ ", "ls\n"}, []time.Duration{0, 2 * time.Second}, "$ ls\n"},
		{"decided-before-deadline", []string{"port 8080", "\n"}, []time.Duration{0, 500 * ms}, "port 8080\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var chunks [][]byte
			for _, c := range tc.chunks {
				chunks = append(chunks, []byte(c))
			}
			if got := string(pacedRun(m, chunks, tc.gaps)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPacedTailReleasedOnlyAtDeadline checks that a held possible value is
// not released by an idle pause, and is released masked at the deadline.
func TestPacedTailReleasedOnlyAtDeadline(t *testing.T) {
	m := newTestMasker(t, Config{})
	p := m.NewPaced()
	t0 := time.Unix(0, 0)
	if out := p.AppendWrite(nil, t0, []byte("ssn 123-45-")); string(out) != "ssn " {
		t.Fatalf("write emitted %q", out)
	}
	due, ok := p.Due()
	if !ok || !due.Equal(t0.Add(m.HoldDeadline())) {
		t.Fatalf("due %v %v, want the hold deadline", due, ok)
	}
	if out := p.AppendTick(nil, t0.Add(m.HoldDeadline()-time.Millisecond)); len(out) != 0 {
		t.Fatalf("released %q before the deadline", out)
	}
	if out := p.AppendTick(nil, due); string(out) != "***-**-" {
		t.Fatalf("at the deadline released %q, want it masked", out)
	}
	if out := p.AppendWrite(nil, due.Add(time.Second), []byte("6789\n")); string(out) != "****\n" {
		t.Fatalf("continuation emitted %q, want it masked", out)
	}
}

// FuzzPacedRelease extends the chunking invariant with time: cuts split
// the input as in FuzzChunkingInvariant, and gaps gives the pause before
// each chunk (10 ms units). Whatever the split and the timing:
//   - the output has the input's length, and differs from it only where a
//     letter, digit or non-ASCII byte became '*' (fail closed, nothing
//     else changes) or a C1 control encoded in UTF-8 became ESC \;
//   - no value that masking the input at once masks comes through whole
//     (the local part of an e-mail address aside), and no value masking at
//     once hid can be read in the paced output (a pause never lets a value
//     through);
//   - with every pause shorter than IdleFlush, the output equals the
//     output of writing the input at once.
func FuzzPacedRelease(f *testing.F) {
	for i, in := range seedInputs() {
		f.Add([]byte(in), []byte{byte(i), 3, 1, 0xf1, 7}, []byte{0, 5, 120, 0, 30}, uint8(i))
	}
	var masker []*Masker
	for _, tc := range testConfigs {
		if tc.cfg.Style != StyleLabel {
			masker = append(masker, newTestMasker(f, tc.cfg))
		}
	}
	f.Fuzz(func(t *testing.T, in, cuts, gapBytes []byte, conf uint8) {
		m := masker[int(conf)%len(masker)]
		if len(cuts) == 0 {
			cuts = []byte{0}
		}
		if len(gapBytes) == 0 {
			gapBytes = []byte{0}
		}
		var chunks [][]byte
		var gaps []time.Duration
		short := true
		for k, pos := 0, 0; pos < len(in); k++ {
			n := min(1+int(cuts[k%len(cuts)]%16), len(in)-pos)
			chunks = append(chunks, in[pos:pos+n])
			pos += n
			g := time.Duration(gapBytes[k%len(gapBytes)]) * 10 * time.Millisecond
			if k == 0 {
				g = 0
			}
			short = short && g < m.IdleFlush()
			gaps = append(gaps, g)
		}
		got := pacedRun(m, chunks, gaps)
		s := m.NewPaced()
		want := s.AppendFlush(s.AppendWrite(nil, time.Unix(0, 0), in))
		// The local part of an e-mail address is released after IdleFlush
		// (it is no value alone); the rest of the address stays masked.
		localPart := make([]bool, len(in))
		findings := s.Findings()
		for _, f := range findings {
			if f.Recognizer != "email" {
				continue
			}
			for i := f.Offset; i < f.Offset+int64(f.Length) && in[i] != '@'; i++ {
				localPart[i] = true
			}
		}
		if len(got) != len(in) {
			t.Fatalf("length %d, input %d: %.300q", len(got), len(in), got)
		}
		for i := range in {
			c1 := in[i] == 0xc2 && i+1 < len(in) && isC1Second(in[i+1]) && got[i] == 0x1b ||
				i > 0 && in[i-1] == 0xc2 && isC1Second(in[i]) && got[i] == '\\'
			if got[i] != in[i] && !c1 && (got[i] != '*' || !(isAlnum(in[i]) || in[i] >= 0x80)) {
				t.Fatalf("byte %d changed from %q to %q: %.300q", i, in[i], got[i], got)
			}
		}
		// No value masked at once reaches the paced output whole, and the
		// paced output holds no value the masked-at-once output lacks.
		for _, f := range findings {
			whole := true
			for i := f.Offset; i < f.Offset+int64(f.Length); i++ {
				if want[i] != in[i] && !localPart[i] && got[i] != in[i] {
					whole = false
				}
			}
			if whole {
				t.Fatalf("%s at %d passed whole:\ninput %.300q\nat once %.300q\npaced   %.300q", f.Recognizer, f.Offset, in, want, got)
			}
		}
		// A value found in the paced output must not be one that masking at
		// once hid: partial masking may leave a shorter run that reads as a
		// value ("::000:0000:0000" of an address whose start was masked), but
		// it shows nothing masking at once did not.
		_, again := m.MaskString(string(got))
		for _, f := range again {
			raw, hidden := true, false
			for i := f.Offset; i < f.Offset+int64(f.Length); i++ {
				raw = raw && got[i] == in[i]
				hidden = hidden || want[i] != in[i] && !localPart[i]
			}
			if raw && hidden {
				t.Fatalf("paced output shows a value masking at once hid: %+v\ninput %.300q\npaced %.300q", f, in, got)
			}
		}
		if short && string(got) != string(want) {
			t.Fatalf("no pause, yet output differs:\npaced   %.300q\nat once %.300q", got, want)
		}
	})
}

// TestPacedChunkingInvariant checks the chunking invariant through the
// string filter too: written byte by byte and cut at every byte, with no
// pause, a Paced releases what it releases for one write, and reports the
// same findings (the stream's and the filter's interleave by write, so in
// offset order).
func TestPacedChunkingInvariant(t *testing.T) {
	m := newTestMasker(t, Config{})
	pacedFindings := func(chunks [][]byte) (string, []Finding) {
		p := m.NewPaced()
		var out []byte
		var fs []Finding
		for _, c := range chunks {
			out = p.AppendWrite(out, time.Unix(0, 0), c)
			fs = append(fs, p.Findings()...)
		}
		out = p.AppendFlush(out)
		fs = append(fs, p.Findings()...)
		byOffset(fs)
		return string(out), fs
	}
	for _, in := range seedInputs() {
		want, wantFs := pacedFindings([][]byte{[]byte(in)})
		bytewise := make([][]byte, len(in))
		for i := range len(in) {
			bytewise[i] = []byte{in[i]}
		}
		cuts := [][][]byte{bytewise}
		for i := 1; i < len(in) && len(in) <= 300; i++ {
			cuts = append(cuts, split(in, i))
		}
		for _, chunks := range cuts {
			got, fs := pacedFindings(chunks)
			if got != want || !reflect.DeepEqual(fs, wantFs) && (len(fs) > 0 || len(wantFs) > 0) {
				t.Fatalf("%q in %d writes:\n got %q %+v\nwant %q %+v", in, len(chunks), got, fs, want, wantFs)
			}
		}
	}
}
