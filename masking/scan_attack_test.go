package masking

import (
	"strings"
	"testing"
)

// Values placed so that the scan's skip decides at every offset of its
// 64-byte blocks: after runs of letters, of multi-byte UTF-8, of bytes >=
// 0x80 that are no UTF-8, of escapes; right after a context word that
// opens a window (the scan returns early and starts a new walk with the
// context tables mid-slice), under the default tables and a configuration
// with custom patterns and context words. Each output, whole and cut into
// two writes at every byte near the value, must hold no value unmasked.
func TestScanAttackBlockEdges(t *testing.T) {
	fillers := []string{"x", "é", "\xff", "\x80", "日", "\x1b[m", " ", "-", "_"}
	cases := []struct {
		cfg   Config
		value string // masked in the output whatever precedes " "+value
		ctx   string // context word before the value, if any
	}{
		{Config{}, "123-45-6789", ""},
		{Config{}, "jane.doe@example.org", ""},
		{Config{}, "(555) 123-4567", ""},
		{Config{}, "4111 1111 1111 1111", ""},
		{Config{}, "March 3, 1980", "dob "},
		{Config{}, "00123456", "MRN: "},
		{Config{}, "123456789", "ssn "},
		{Config{Custom: []CustomPattern{{Name: "member", Pattern: `(?i)mem-[a-z0-9]{4,}`, Context: []string{"member", "mbr#"}}}}, "MEM-ab12cd", "mbr# "},
		{Config{Custom: []CustomPattern{{Name: "ref", Pattern: `(?:é|ÿ)\d{4}`}}}, "é4821", ""},
	}
	for _, tc := range cases {
		m := newTestMasker(t, tc.cfg)
		for _, fill := range fillers {
			for n := 0; n <= 140; n++ {
				pre := strings.Repeat(fill, n/len(fill)+1)[:n]
				if fill[0] == 0x1b {
					// Whole sequences: a cut one would take the bytes after.
					pre = strings.Repeat(fill, n/len(fill)) + strings.Repeat("x", n%len(fill))
				}
				in := pre + " " + tc.ctx + tc.value + " ok\r\n"
				at := len(pre) + 1 + len(tc.ctx)
				if got := whole(m, in).out; strings.Contains(got, tc.value) {
					t.Fatalf("%q: the value passed: %q", in, got)
				}
				for cut := max(1, at-3); cut <= at+len(tc.value) && cut < len(in); cut++ {
					if got := run(m, split(in, cut), nil).out; strings.Contains(got, tc.value) {
						t.Fatalf("%q cut at %d: the value passed: %q", in, cut, got)
					}
				}
			}
		}
	}
}
