package masking

import (
	"testing"
)

// FuzzChunkingInvariant checks THE invariant: however the input is cut into
// writes (and with flushes at the same places in the content), the output
// and the findings equal those of writing each flushed segment at once. In
// same-length style the output also keeps the length and the escape
// sequences of the input.
//
// cuts drives the chunking: each byte gives the length of the next chunk
// (1 + b%16); a byte >= 0xf0 also flushes after the chunk. conf picks one of
// testConfigs.
func FuzzChunkingInvariant(f *testing.F) {
	for i, in := range seedInputs() {
		f.Add([]byte(in), []byte{byte(i), 3, 1, 0xf1, 7}, uint8(i))
	}
	// Flushed right after a value with a BEL inside, a byte at a time.
	f.Add([]byte("x 123-45-\a6789. john\a.doe@exa\x00mple.com"), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0}, uint8(0))
	masker := make([]*Masker, len(testConfigs))
	for i, tc := range testConfigs {
		masker[i] = newTestMasker(f, tc.cfg)
	}
	f.Fuzz(func(t *testing.T, in, cuts []byte, conf uint8) {
		m := masker[int(conf)%len(masker)]
		if len(cuts) == 0 {
			cuts = []byte{0}
		}
		// Chunked run, and the segments between flushes for the reference.
		var chunks [][]byte
		flush := map[int]bool{}
		var segs [][]byte
		segStart := 0
		pos := 0
		for k := 0; pos < len(in); k++ {
			c := cuts[k%len(cuts)]
			n := min(1+int(c%16), len(in)-pos)
			chunks = append(chunks, in[pos:pos+n])
			pos += n
			if c >= 0xf0 && pos < len(in) {
				flush[len(chunks)-1] = true
				segs = append(segs, in[segStart:pos])
				segStart = pos
			}
		}
		segs = append(segs, in[segStart:])
		refFlush := map[int]bool{}
		for i := 0; i < len(segs)-1; i++ {
			refFlush[i] = true
		}
		got := run(m, chunks, flush)
		want := run(m, segs, refFlush)
		sameResult(t, "fuzz", got, want)
		if !m.label {
			checkSameLength(t, in, []byte(got.out))
		}
		if got.maxHeld > m.maxHold+3 {
			t.Fatalf("held %d bytes, MaxHold %d", got.maxHeld, m.maxHold)
		}
	})
}

// FuzzNew checks that no configuration makes New, Write or Flush panic.
func FuzzNew(f *testing.F) {
	f.Add("(?i)mem-[a-z0-9]{6}", "member", "label", 0, "MEM-ab12cd 123-45-6789")
	f.Add(`\d+`, "", "", 64, "claim 12345678")
	f.Add(`(a|)`, "x", "same-length", 10, "a")
	f.Add(`[^ ]`, "é", "", 1<<21, "\x1b[31m")
	f.Fuzz(func(t *testing.T, pattern, word, style string, hold int, in string) {
		cfg := Config{
			Style:   style,
			MaxHold: hold,
			Custom:  []CustomPattern{{Name: "c", Pattern: pattern, Context: []string{word}}},
			Recognizers: map[string]RecognizerConfig{
				"mrn":  {Pattern: pattern, Context: []string{word}},
				"ipv4": {Enabled: on()},
				"ipv6": {Enabled: on()},
			},
		}
		if word == "" {
			cfg.Custom[0].Context = nil
			cfg.Recognizers["mrn"] = RecognizerConfig{Pattern: pattern}
		}
		m, err := New(cfg, testKey)
		if err != nil {
			return
		}
		s := m.NewStream()
		for i := 0; i < len(in); i += 3 {
			s.Write([]byte(in[i:min(i+3, len(in))]))
		}
		s.Flush()
		m.MaskString(in)
	})
}
