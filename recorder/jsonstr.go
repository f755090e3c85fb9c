package recorder

import (
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// plain reports the ASCII bytes that appear in a JSON string unescaped.
var plain = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// uEscaped reports the control characters that have no short escape and
// are written as \u00xx.
var uEscaped = func() (t [0x20]bool) {
	for b := range t {
		t[b] = !strings.ContainsRune("\b\t\n\f\r", rune(b))
	}
	return t
}()

// Bytes repeated across a 64-bit word, for testing eight bytes at once.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plainWord reports whether all eight bytes of x (little-endian) are plain:
// none is >= 0x80, < 0x20, '"' or '\\'. Each test finds whether some byte of
// the word has the property, which is all a fast path needs.
func plainWord(x uint64) bool {
	q := x ^ (lsb * '"')
	bs := x ^ (lsb * '\\')
	return (x|(x-lsb*0x20)&^x|(q-lsb)&^q|(bs-lsb)&^bs)&msb == 0
}

// appendJSONString appends s to dst as a JSON string.
//
// The escaping is the minimal one of RFC 8785 section 3.2.2.2: '"' and '\\'
// are escaped, control characters use \b, \t, \n, \f, \r or \u00xx, and every
// other character is copied. Each byte that is not part of a valid UTF-8
// sequence becomes \ufffd, the replacement character, as encoding/json does.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plainWord(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
			continue
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if plain[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\r':
				dst = append(dst, '\\', 'r')
			default:
				// Binary output and padding come in runs of such bytes,
				// six bytes each once escaped: write the run at once.
				j := i + 1
				for j < len(s) && s[j] < 0x20 && uEscaped[s[j]] {
					j++
				}
				n := len(dst)
				dst = slices.Grow(dst, 6*(j-i))[:n+6*(j-i)]
				for k, c := range s[i:j] {
					e := dst[n+6*k : n+6*k+6]
					e[0], e[1], e[2], e[3], e[4], e[5] = '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf]
				}
				i = j
				start = i
				continue
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendSeconds appends d as seconds with exactly six decimals ("12.000345").
// Negative durations are written as zero.
func appendSeconds(dst []byte, d time.Duration) []byte {
	us := int64(d / time.Microsecond)
	if us < 0 {
		us = 0
	}
	dst = strconv.AppendInt(dst, us/1e6, 10)
	dst = append(dst, '.')
	frac := us % 1e6
	for div := int64(1e5); div > 0; div /= 10 {
		dst = append(dst, byte('0'+frac/div%10))
	}
	return dst
}

// validUTF8Prefix returns the length of the longest prefix of p that is at
// most max bytes and does not end inside a UTF-8 sequence. It never returns
// zero for a non-empty p.
func validUTF8Prefix(p []byte, max int) int {
	if len(p) <= max {
		return len(p)
	}
	// Back up to the start of the rune that p[max] belongs to, if it is at
	// most utf8.UTFMax-1 bytes back; otherwise the bytes are not valid UTF-8
	// anyway, and any cut will do.
	for n := max; n > 0 && n > max-utf8.UTFMax; n-- {
		if utf8.RuneStart(p[n]) {
			return n
		}
	}
	return max
}
