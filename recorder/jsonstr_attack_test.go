package recorder

import (
	"bytes"
	"strings"
	"testing"
)

// Output an attacker shapes so that what the escaper must see sits where
// its shortcuts decide: UTF-8 sequences (valid, overlong, surrogates, past
// U+10FFFF, cut short), quotes, backslashes and control bytes straddling
// the first word, the 32-byte blocks of the vector search and the end of
// the slice, in runs of plain bytes long enough for the vector code. Each
// encoding must be valid JSON that decodes as encoding/json's does, and
// equal the byte-at-a-time escaper's.
func TestAppendJSONStringAttackEdges(t *testing.T) {
	seqs := []string{
		"é", "日", "😀", "\u2028", "\ufeff",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\x80", "\xe0\x80\xaf", "\xe6\x97", "\xf0\x9f\x98", "\x80", "\xff",
		"\"", "\\", "\x00", "\x1f", "\x7f", "\x1b[31m", "\\\"", "\"\\u0041",
	}
	run := strings.Repeat("abcdefghij", 20)
	for _, seq := range seqs {
		for pos := 0; pos <= 140; pos++ {
			s := []byte(run[:pos] + seq + run[pos:])
			for _, end := range []int{len(s), pos + len(seq), pos + len(seq) - 1, pos + 1, pos + 70} {
				if end < 0 || end > len(s) {
					continue
				}
				for _, from := range []int{0, 1, 7, 8, 9, 31, 32, 33} {
					if from > end {
						continue
					}
					in := s[from:end]
					if got, want := appendJSONString(nil, in), appendJSONStringBytewise(nil, in); !bytes.Equal(got, want) {
						t.Fatalf("appendJSONString(%q) =\n%s, want\n%s", in, got, want)
					}
					checkJSONRoundTrip(t, in)
				}
			}
		}
	}
}
