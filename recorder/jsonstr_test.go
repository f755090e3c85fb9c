package recorder

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var jsonStringTests = []struct {
	name string
	in   string
	want string
}{
	{"empty", "", `""`},
	{"ascii", "hello, world", `"hello, world"`},
	{"quote-backslash", `say "hi" \ bye`, `"say \"hi\" \\ bye"`},
	{"short-escapes", "\b\t\n\f\r", `"\b\t\n\f\r"`},
	{"control", "\x00\x01\x1b[31m\x1f\x7f", `"\u0000\u0001\u001b[31m\u001f` + "\x7f" + `"`},
	{"utf8", "é 日本 🙂", `"é 日本 🙂"`},
	{"html-not-escaped", "<a>&</a>", `"<a>&</a>"`},
	{"line-separators", "\u2028\u2029", "\"\u2028\u2029\""},
	{"invalid-byte", "a\xffb", `"a\ufffdb"`},
	{"truncated-rune", "日"[:2], `"\ufffd\ufffd"`},
	{"surrogate", "\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
	{"overlong", "\xc0\xaf", `"\ufffd\ufffd"`},
	{"crlf", "line\r\n", `"line\r\n"`},
	{"nul-run", "a" + strings.Repeat("\x00", 37) + "b", `"a` + strings.Repeat(`\u0000`, 37) + `b"`},
	{"same-control-run", strings.Repeat("\x1b", 9), `"` + strings.Repeat(`\u001b`, 9) + `"`},
	{"mixed-control-run", strings.Repeat("\x00", 12) + "\x01\t", `"` + strings.Repeat(`\u0000`, 12) + `\u0001\t"`},
	{"escape-at-word-ends", "1234567\x1b1234567\"", `"1234567\u001b1234567\""`},
}

func TestAppendJSONString(t *testing.T) {
	for _, tt := range jsonStringTests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendJSONString([]byte("x"), []byte(tt.in)))
			if got != "x"+tt.want {
				t.Errorf("appendJSONString(%q) = %s, want %s", tt.in, got[1:], tt.want)
			}
			checkJSONRoundTrip(t, []byte(tt.in))
		})
	}
}

// checkJSONRoundTrip checks that the encoding of s is valid JSON that decodes
// to what encoding/json's own encoding of s decodes to.
func checkJSONRoundTrip(t *testing.T, s []byte) {
	t.Helper()
	enc := appendJSONString(nil, s)
	if !json.Valid(enc) {
		t.Fatalf("encoding of %q is not valid JSON: %s", s, enc)
	}
	var got string
	if err := json.Unmarshal(enc, &got); err != nil {
		t.Fatalf("decode %s: %v", enc, err)
	}
	ref, err := json.Marshal(string(s))
	if err != nil {
		t.Fatal(err)
	}
	var want string
	if err := json.Unmarshal(ref, &want); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("round trip of %q = %q, want %q", s, got, want)
	}
	if utf8.Valid(s) && got != string(s) {
		t.Fatalf("valid UTF-8 %q changed to %q", s, got)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, tt := range jsonStringTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		checkJSONRoundTrip(t, s)
		if got, want := appendJSONString(nil, s), appendJSONStringBytewise(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

func TestAppendSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                "0.000000",
		time.Microsecond:                 "0.000001",
		999 * time.Nanosecond:            "0.000000",
		1500 * time.Millisecond:          "1.500000",
		3*time.Hour + 7*time.Microsecond: "10800.000007",
		-time.Second:                     "0.000000",
		123456789 * time.Microsecond:     "123.456789",
	} {
		if got := string(appendSeconds(nil, d)); got != want {
			t.Errorf("appendSeconds(%v) = %s, want %s", d, got, want)
		}
	}
}

func TestValidUTF8Prefix(t *testing.T) {
	s := []byte("ab日本")
	for max, want := range map[int]int{1: 1, 2: 2, 3: 2, 4: 2, 5: 5, 6: 5, 8: 8, 100: 8} {
		if got := validUTF8Prefix(s, max); got != want {
			t.Errorf("validUTF8Prefix(%q, %d) = %d, want %d", s, max, got, want)
		}
	}
	// Continuation bytes only: cut at max rather than return zero.
	if got := validUTF8Prefix([]byte(strings.Repeat("\x80", 10)), 4); got != 4 {
		t.Errorf("validUTF8Prefix(continuations, 4) = %d, want 4", got)
	}
}

// firstUnplain returns the index of the first byte of w that is not plain,
// or len(w), byte by byte.
func firstUnplain(w []byte) int {
	for i, b := range w {
		if b >= utf8.RuneSelf || !plain[b] {
			return i
		}
	}
	return len(w)
}

// TestPlainPrefix checks the word-at-a-time scan against the byte-at-a-time
// one: every byte value at every position of a word, behind plain bytes and
// behind every other byte value (a borrow from a lower byte must not hide
// or move the first byte to escape).
func TestPlainPrefix(t *testing.T) {
	for lo := range 256 {
		for b := range 256 {
			for pos := range 8 {
				w := []byte("abcdefghijklmnop")
				w[pos] = byte(b)
				w[pos+1] = byte(lo)
				for _, s := range [][]byte{w, w[:pos+1], w[pos:]} {
					if got, want := plainPrefix(s), firstUnplain(s); got != want {
						t.Fatalf("plainPrefix(%q) = %d, want %d", s, got, want)
					}
				}
			}
		}
	}
}

// TestPlainPrefixLongRuns checks the scan of long runs (32 bytes at a
// time where the processor can) against the byte-at-a-time one: every byte
// value at every position of plain runs up to 200 bytes long, at every
// alignment, and the runs cut short after it.
func TestPlainPrefixLongRuns(t *testing.T) {
	buf := make([]byte, 240)
	for align := range 32 {
		for n := 0; n <= 200; n += 1 + n/40 {
			s := buf[align : align+n]
			for i := range s {
				s[i] = 'a' + byte(i%26)
			}
			if got := plainPrefix(s); got != n {
				t.Fatalf("plainPrefix of %d plain bytes = %d", n, got)
			}
			if align%8 != 0 {
				continue
			}
			for pos := range s {
				for b := range 256 {
					s[pos] = byte(b)
					for _, cut := range [][]byte{s, s[:pos+1]} {
						if got, want := plainPrefix(cut), firstUnplain(cut); got != want {
							t.Fatalf("plainPrefix(%q) = %d, want %d", cut, got, want)
						}
					}
				}
				s[pos] = 'a' + byte(pos%26)
			}
		}
	}
}

func FuzzPlainPrefix(f *testing.F) {
	f.Add([]byte(strings.Repeat("plain text run long enough for the vector scan ", 3) + `\ and ` + "\x1b[0m"))
	for _, tt := range jsonStringTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		if got, want := plainPrefix(s), firstUnplain(s); got != want {
			t.Fatalf("plainPrefix(%q) = %d, want %d", s, got, want)
		}
	})
}

func BenchmarkAppendJSONString(b *testing.B) {
	s := terminalStream(64 << 10)
	buf := make([]byte, 0, 8*len(s))
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = appendJSONString(buf[:0], s)
	}
}

// BenchmarkAppendJSONStringNUL is binary output at its worst: every byte
// escapes to six.
func BenchmarkAppendJSONStringNUL(b *testing.B) {
	s := make([]byte, 64<<10)
	buf := make([]byte, 0, 8*len(s))
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = appendJSONString(buf[:0], s)
	}
}

// appendJSONStringBytewise is the escaping appendJSONString documents, one
// byte (or UTF-8 sequence) at a time: the reference for its shortcuts.
func appendJSONStringBytewise(dst, s []byte) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			if size := validRuneLen(s[i:]); size > 0 {
				dst = append(dst, s[i:i+size]...)
				i += size
			} else {
				dst = append(dst, `\ufffd`...)
				i++
			}
			continue
		}
		switch short := strings.IndexByte("\"\\\b\t\n\f\r", c); {
		case short >= 0:
			dst = append(dst, '\\', `"\btnfr`[short])
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
		i++
	}
	return append(dst, '"')
}

// TestAppendJSONStringRuns compares the escaper with the bytewise one on
// random output made of NUL runs of every length around a word, runs of
// other controls, and bytes that end a run, from every offset (so every
// alignment of a run to the words the escaper reads).
func TestAppendJSONStringRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 3))
	pieces := []string{"\x01", "\x1b", "\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b", "\t", "\"", "\\", "a", "é", "日"[:2], "\xff", "\x7f", "\x1f"}
	for range 2000 {
		var s []byte
		for len(s) < 120 {
			if rng.IntN(2) == 0 {
				s = append(s, make([]byte, rng.IntN(40))...)
			} else {
				s = append(s, pieces[rng.IntN(len(pieces))]...)
			}
		}
		for i := range s {
			got, want := appendJSONString(nil, s[i:]), appendJSONStringBytewise(nil, s[i:])
			if !bytes.Equal(got, want) {
				t.Fatalf("appendJSONString(%q) =\n%s, want\n%s", s[i:], got, want)
			}
		}
	}
}
