package server

import (
	"fmt"
	"io"
	"testing"
)

// BenchmarkProxyDownload moves output from a target through the whole
// proxy path (upstream decrypt, record, re-encrypt to the client) with a
// Go SSH client; `make bench` compares the same path with OpenSSH
// against direct sshd.
func BenchmarkProxyDownload(b *testing.B) {
	const size = 8 << 20
	tb := startTestBastion(b, nil)
	c := tb.dial(b, "alice@example.com", "demo@demo")
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		s, err := c.NewSession()
		if err != nil {
			b.Fatal(err)
		}
		s.Stdout = io.Discard
		if err := s.Run(fmt.Sprintf("head -c %d /dev/zero | tr '\\0' x", size)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionSetup is one exec session on an established connection.
func BenchmarkSessionSetup(b *testing.B) {
	tb := startTestBastion(b, nil)
	c := tb.dial(b, "alice@example.com", "demo@demo")
	b.ReportAllocs()
	for b.Loop() {
		s, err := c.NewSession()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Run("true"); err != nil {
			b.Fatal(err)
		}
	}
}
