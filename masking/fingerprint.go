package masking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

// A fingerprint is the first 16 bytes of HMAC-SHA256(key, normalized value),
// hex encoded. Normalization makes different spellings of one value agree:
// digits only for numbers (a phone number also loses the country code 1),
// lower case for e-mail addresses and IP addresses, letters and digits for
// dates and MBIs. Custom patterns use the matched text as is.

type normKind uint8

const (
	normRaw normKind = iota
	normDigits
	normPhone
	normLower
	normAlnumUpper
	normAlnumLower
)

func normalize(k normKind, v, dst []byte) []byte {
	for _, c := range v {
		switch k {
		case normDigits, normPhone:
			if !isDigit(c) {
				continue
			}
		case normLower:
			c = lower(c)
		case normAlnumUpper:
			if !isAlnum(c) {
				continue
			}
			if c >= 'a' {
				c -= 'a' - 'A'
			}
		case normAlnumLower:
			if !isAlnum(c) {
				continue
			}
			c = lower(c)
		}
		dst = append(dst, c)
	}
	if k == normPhone && len(dst) == 11 && dst[0] == '1' {
		dst = dst[1:]
	}
	return dst
}

func sum(mac hash.Hash, v, buf []byte) string {
	mac.Reset()
	mac.Write(v)
	return hex.EncodeToString(mac.Sum(buf[:0])[:16])
}

func fingerprint(key []byte, k normKind, v []byte) string {
	return sum(hmac.New(sha256.New, key), normalize(k, v, nil), nil)
}

// fingerprint returns the fingerprint of a value matched by recognizer rec.
func (s *Stream) fingerprint(rec int, v []byte) string {
	s.normBuf = normalize(s.m.recs[rec].norm, v, s.normBuf[:0])
	return sum(s.mac, s.normBuf, s.sumBuf[:])
}
