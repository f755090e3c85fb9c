package server

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// BenchmarkProxyDownload moves output from a target through the whole
// proxy path (upstream decrypt, mask, record, re-encrypt to the client)
// with a Go SSH client, on text and on NUL bytes from /dev/zero (six each
// in the recording); `make bench` compares the same path with OpenSSH
// against direct sshd. The target and the client run in the process too:
// cpu-ns/op counts all three.
func BenchmarkProxyDownload(b *testing.B) {
	const size = 8 << 20
	tb := startTestBastion(b, nil)
	c := tb.dial(b, "alice@example.com", "demo@demo")
	for _, tc := range []struct{ name, cmd string }{
		{"text", fmt.Sprintf("head -c %d /dev/zero | tr '\\0' x", size)},
		{"zero", fmt.Sprintf("head -c %d /dev/zero", size)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				s, err := c.NewSession()
				if err != nil {
					b.Fatal(err)
				}
				s.Stdout = io.Discard
				if err := s.Run(tc.cmd); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		})
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

// BenchmarkProxyUpload moves a client's input through the whole proxy
// path (client decrypt, copy, re-encrypt to the target) to `cat >
// /dev/null`, with each cipher `make bench` pins on the client's leg.
func BenchmarkProxyUpload(b *testing.B) {
	const size = 32 << 20
	for _, cipher := range []string{"aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"} {
		b.Run(strings.SplitN(cipher, "-", 2)[0], func(b *testing.B) {
			tb := startTestBastion(b, nil)
			c := tb.dial(b, "alice@example.com", "demo@demo", func(cfg *ssh.ClientConfig) {
				cfg.Ciphers = []string{cipher}
			})
			data := make([]byte, size)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				s, err := c.NewSession()
				if err != nil {
					b.Fatal(err)
				}
				s.Stdin = bytes.NewReader(data)
				if err := s.Run("cat > /dev/null"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
