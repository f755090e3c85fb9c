package bytescan

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// maskerClasses has the shape of the masker's default classes outside
// context windows: digits, '(' and '+', the first letters of context words
// at a word start; '@' anywhere.
func maskerClasses() *Classes {
	var cls [256]uint8
	for _, c := range "0123456789(+BCDFIMNPSTbcdfimnpst" {
		cls[c] = 1
	}
	cls['@'] = 2
	return NewClasses(&cls, masksAfterAlnum(2))
}

// benchTexts are 1 MiB of base64 in lines of 76, the text download of
// `make bench`, and about 1 MiB of log and listing lines.
func benchTexts() map[string][]byte {
	rng := rand.New(rand.NewPCG(15, 16))
	raw := make([]byte, 3<<18)
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	var b64, term strings.Builder
	for ; len(enc) > 76; enc = enc[76:] {
		b64.WriteString(enc[:76] + "\n")
	}
	words := []string{"GET", "POST", "/api/v1/patients", "/healthz", "status=200", "cache", "miss", "user", "session", "request"}
	for term.Len() < 1<<20 {
		fmt.Fprintf(&term, "2024-01-%02dT%02d:%02d:%02dZ INFO %s %s took=%dms\r\n-rw-r--r-- 1 app deploy %6d Jan %2d \x1b[01;34mreport-%04d\x1b[0m.csv\r\n",
			1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), words[rng.IntN(len(words))], words[rng.IntN(len(words))],
			rng.IntN(5000), rng.IntN(999999), 1+rng.IntN(28), rng.IntN(10000))
	}
	return map[string][]byte{"base64": []byte(b64.String()), "terminal": []byte(term.String())}
}

// benchVectorAndScalar runs pass over each text, with the vector code and
// with the scalar loop.
func benchVectorAndScalar(b *testing.B, pass func(text []byte)) {
	texts := benchTexts()
	saved := vector
	defer func() { vector = saved }()
	for _, name := range []string{"base64", "terminal"} {
		text := texts[name]
		for _, v := range []bool{true, false} {
			b.Run(fmt.Sprintf("text=%s/vector=%v", name, v), func(b *testing.B) {
				vector = v && saved
				b.SetBytes(int64(len(text)))
				for b.Loop() {
					pass(text)
				}
			})
		}
	}
}

// BenchmarkIndexTrigger passes over a MiB of text from trigger to trigger,
// as the masker's scan does, with the vector code and with the scalar loop.
func BenchmarkIndexTrigger(b *testing.B) {
	c := maskerClasses()
	benchVectorAndScalar(b, func(text []byte) {
		before := byte(0)
		for i := 0; i < len(text); i++ {
			i += c.IndexTrigger(text[i:], before)
			if i < len(text) {
				before = text[i]
			}
		}
	})
}

// BenchmarkCursor walks the triggers of a MiB of text with one Cursor, as
// the masker's scan does, with the vector code and with the scalar loop.
func BenchmarkCursor(b *testing.B) {
	c := maskerClasses()
	benchVectorAndScalar(b, func(text []byte) {
		cur := c.Cursor(text, 0)
		for i := 0; i < len(text); i++ {
			i = cur.Next(i)
		}
	})
}

// BenchmarkIndexUnplainJSON passes over a MiB of text from escape to
// escape, as the recorder's JSON escaper does.
func BenchmarkIndexUnplainJSON(b *testing.B) {
	benchVectorAndScalar(b, func(text []byte) {
		for i := 0; i < len(text); i++ {
			i += IndexUnplainJSON(text[i:])
		}
	})
}
