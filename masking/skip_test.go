package masking

import (
	"slices"
	"strings"
	"testing"
)

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

// byteLoopTriggers is the byte loop the scan passed over text with before
// the skip, from index i: the triggers it stopped at.
func byteLoopTriggers(b []byte, i int, cls *[256]uint8) []int {
	var at []int
	for ; i < len(b); i++ {
		before := lb(b, i-1)
		for i < len(b) && cls[b[i]]&afterMask[before] == 0 {
			before = b[i]
			i++
		}
		if i == len(b) {
			break
		}
		at = append(at, i)
	}
	return at
}

// The skip stops where the byte loop did, walking terminal output, base64
// text and the recognizers' cases from many starts (a write, a context
// window or the return after a context word starts a walk anywhere), for
// the masker's tables inside context windows and out.
func TestSkipWalksLikeTheByteLoop(t *testing.T) {
	texts := [][]byte{terminalOutput(16 << 10), base64Lines()[:16<<10], []byte(strings.Join(seedInputs(), "\r\n"))}
	m := newTestMasker(t, testConfigs[len(testConfigs)-1].cfg)
	for k, cls := range []*[256]uint8{&m.cls, &m.clsCtx} {
		for n, text := range texts {
			for start := 0; start < len(text); start += 1 + start/64 {
				want := byteLoopTriggers(text, start, cls)
				var got []int
				cur := m.skip[k].Cursor(text, 0)
				for i := cur.Next(start); i < len(text); i = cur.Next(i + 1) {
					got = append(got, i)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("table %d, text %d, from %d: the skip stops at %v, the byte loop at %v", k, n, start, got, want)
				}
			}
		}
	}
}
