package recorder

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bastion-ssh/bastion/internal/bytescan"
	"github.com/bastion-ssh/bastion/internal/nulrun"
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

// unplainBytes returns x (eight bytes, little-endian) with the high bit set
// in each byte that is not plain: >= 0x80, < 0x20, '"' or '\\'. Only the
// lowest set bit is exact (a borrow may flag bytes above it), which is all
// the escaper needs: it says where the first byte to look at is.
func unplainBytes(x uint64) uint64 {
	q := x ^ (lsb * '"')
	bs := x ^ (lsb * '\\')
	return (x | (x-lsb*0x20)&^x | (q-lsb)&^q | (bs-lsb)&^bs) & msb
}

// plainPrefix returns the number of plain bytes at the start of s.
//
// In terminal output the next byte to escape is often within the first
// word, which is tested here; a longer run is passed over 32 bytes at a
// time where the processor can (bulk text, base64).
func plainPrefix(s []byte) int {
	if len(s) >= 8+vectorMin {
		if m := unplainBytes(binary.LittleEndian.Uint64(s)); m != 0 {
			return bits.TrailingZeros64(m) >> 3
		}
		return 8 + bytescan.IndexUnplainJSON(s[8:])
	}
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if m := unplainBytes(binary.LittleEndian.Uint64(s[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(s); i++ {
		if b := s[i]; b >= utf8.RuneSelf || !plain[b] {
			break
		}
	}
	return i
}

// vectorMin is the shortest run plainPrefix hands to bytescan: shorter
// ones cost less eight bytes at a time than a call.
const vectorMin = 64

// appendJSONString appends s to dst as a JSON string.
//
// The escaping is the minimal one of RFC 8785 section 3.2.2.2: '"' and '\\'
// are escaped, control characters use \b, \t, \n, \f, \r or \u00xx, and every
// other character is copied. Each byte that is not part of a valid UTF-8
// sequence becomes \ufffd, the replacement character, as encoding/json does.
//
// Runs of bytes copied as they are (plain ASCII, found eight at a time, and
// valid UTF-8 sequences) are copied in one go; control bytes are escaped a
// run at a time.
func appendJSONString(dst, s []byte) []byte {
	dst = slices.Grow(dst, len(s)+2)
	dst = append(dst, '"')
	start := 0 // s[start:i] is still to be copied
	for i := 0; ; {
		i += plainPrefix(s[i:])
		if i == len(s) {
			break
		}
		b := s[i]
		if b >= utf8.RuneSelf {
			if size := validRuneLen(s[i:]); size > 0 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch b {
		case '"', '\\':
			dst = append(dst, '\\', b)
			i++
		case '\b':
			dst = append(dst, '\\', 'b')
			i++
		case '\t':
			dst = append(dst, '\\', 't')
			i++
		case '\n':
			dst = append(dst, '\\', 'n')
			i++
		case '\r':
			dst = append(dst, '\\', 'r')
			i++
		case '\f':
			dst = append(dst, '\\', 'f')
			i++
		default:
			// Binary output and padding come in runs of such bytes, six
			// bytes each once escaped: write the run at once. Most come
			// alone (ESC before a sequence), which needs no run search.
			j := i + 1
			if j < len(s) && s[j] < 0x20 {
				j = i + controlRun(s[i:])
			}
			dst = appendUEscapes(dst, s[i:j])
			i = j
		}
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// controlRun returns the length of the run of bytes written as \u00xx
// that s starts with, passing NULs (/dev/zero, padding) a word at a time.
func controlRun(s []byte) int {
	i := 0
	for i < len(s) {
		if n := nulrun.Words(s[i:]); n > 0 {
			i += n
			continue
		}
		if c := s[i]; c >= 0x20 || !uEscaped[c] {
			break
		}
		i++
	}
	return i
}

// sameRun returns the length of the run of bytes equal to c that s starts
// with, eight at a time.
func sameRun(s []byte, c byte) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if binary.LittleEndian.Uint64(s[i:]) != lsb*uint64(c) {
			break
		}
	}
	for i < len(s) && s[i] == c {
		i++
	}
	return i
}

// appendUEscapes appends \u00xx for each byte of run, all control bytes.
// Each run of one repeated byte (NUL output) is written by doubling copies
// of its first escape.
func appendUEscapes(dst, run []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, 6*len(run))[:n+6*len(run)]
	out := dst[n:]
	for len(run) > 0 {
		c := run[0]
		same := 1
		if len(run) > 1 {
			same = sameRun(run, c)
		}
		e := out[:6*same]
		e[0], e[1], e[2], e[3], e[4], e[5] = '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf]
		for k := 6; k < len(e); k *= 2 {
			copy(e[k:], e[:k])
		}
		out, run = out[6*same:], run[same:]
	}
	return dst
}

// validRuneLen returns the length of the valid UTF-8 sequence of two or more
// bytes that s starts with, or 0 if it does not start with one.
func validRuneLen(s []byte) int {
	r, size := utf8.DecodeRune(s)
	if r == utf8.RuneError && size == 1 {
		return 0
	}
	return size
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
