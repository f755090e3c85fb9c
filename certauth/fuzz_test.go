package certauth

import (
	"errors"
	"strings"
	"testing"
)

var decodeCases = []struct {
	body string
	ok   bool
}{
	{`{"token":"a.b.c","public_key":"ssh-ed25519 AAAA","ttl":"15m"}`, true},
	{`{"token":"a.b.c","public_key":"ssh-ed25519 AAAA"}`, true},
	{`{"token":"x"}   `, true},
	{`{"TOKEN":"x"}`, true}, // encoding/json matches field names case-insensitively
	{`{"token":"","public_key":""}`, false},
	{`{"token":"x","extra":1}`, false},
	{`{"token":"x"} {"token":"y"}`, false},
	{`[]`, false},
	{`null`, false},
	{`{"token":1}`, false},
	{`{`, false},
	{``, false},
}

func TestDecodeCertificateRequest(t *testing.T) {
	for _, c := range decodeCases {
		_, err := DecodeCertificateRequest(strings.NewReader(c.body))
		if c.ok != (err == nil) || err != nil && !errors.Is(err, ErrMalformedRequest) {
			t.Errorf("%q: err = %v", c.body, err)
		}
	}
}

// FuzzDecodeCertificateRequest: the request decoder never panics, accepts
// only a single object with a token, and refuses with ErrMalformedRequest.
func FuzzDecodeCertificateRequest(f *testing.F) {
	for _, c := range decodeCases {
		f.Add(c.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, err := DecodeCertificateRequest(strings.NewReader(body))
		if err != nil {
			if !errors.Is(err, ErrMalformedRequest) {
				t.Fatalf("error %v does not wrap ErrMalformedRequest", err)
			}
			return
		}
		if req.Token == "" {
			t.Fatal("accepted a request without token")
		}
	})
}
