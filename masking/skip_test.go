package masking

import "testing"

// The scan's skip stops exactly where its byte loop did: at every byte
// whose class counts after the byte before it, for every pair of bytes,
// under every test configuration (and one whose pattern starts with bytes
// >= 0x80), inside context windows and out.
func TestSkipStopsAtEveryTrigger(t *testing.T) {
	configs := append(testConfigs[:len(testConfigs):len(testConfigs)], struct {
		name string
		cfg  Config
	}{"non-ascii-pattern", Config{Custom: []CustomPattern{{Name: "ref", Pattern: `(?:é|ÿ)\d{4}`}}}})
	for _, tc := range configs {
		m := newTestMasker(t, tc.cfg)
		for k, cls := range []*[256]uint8{&m.cls, &m.clsCtx} {
			for p := range 256 {
				for c := range 256 {
					want := 1
					if cls[c]&afterMask[p] != 0 {
						want = 0
					}
					if got := m.skip[k].IndexTrigger([]byte{byte(c)}, byte(p)); got != want {
						t.Fatalf("%s, table %d: after %#x, %#x: skip to %d, want %d", tc.name, k, p, c, got, want)
					}
				}
			}
		}
	}
}
