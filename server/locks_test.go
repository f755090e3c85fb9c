package server

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/config"
)

// The sweep looks up revocations outside the server-wide lock: while one
// lookup is slow, other clients still connect and run sessions.
func TestSlowRevocationLookupDoesNotStallServer(t *testing.T) {
	var blocking atomic.Bool
	entered, release := make(chan struct{}, 1), make(chan struct{})
	isRevoked := func(cert *ssh.Certificate) bool {
		if blocking.Load() && strings.HasPrefix(cert.KeyId, "slow@") {
			entered <- struct{}{}
			<-release
		}
		return false
	}
	b := startTestBastionWith(t, nil, "access:\n  - {name: ops, groups: [ops], targets: [demo], logins: [demo]}\n",
		func(c *Config) { c.Checker.IsRevoked = isRevoked })
	b.dial(t, "slow@example.com", "demo@demo")
	blocking.Store(true)
	swept := make(chan struct{})
	go func() { b.server.sweep(); close(swept) }()
	<-entered

	ran := make(chan string, 1)
	go func() {
		c := b.dial(t, "alice@example.com", "demo@demo")
		s, err := c.NewSession()
		if err != nil {
			ran <- err.Error()
			return
		}
		out, _ := s.Output("echo served")
		ran <- string(out)
	}()
	select {
	case out := <-ran:
		if !strings.Contains(out, "served") {
			t.Errorf("session during a slow lookup: %q", out)
		}
	case <-time.After(10 * time.Second):
		t.Error("a slow revocation lookup stalled every other client")
	}
	close(release)
	<-swept
}

// A dial to a target that never answers holds no lock the sweep needs:
// revoking the connection ends it while the dial still hangs.
func TestHangingDialDoesNotStallSweep(t *testing.T) {
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hang.Close() })
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() }) // accepted, never answered
		}
	}()
	b := startTestBastionWith(t, nil, "access:\n  - {name: ops, groups: [ops], targets: [demo, hang], logins: [demo]}\n",
		func(c *Config) {
			demo := c.Targets
			c.Targets = func(name string) (config.Target, bool) {
				t, ok := demo("demo")
				if name == "hang" {
					t.Name, t.Address = "hang", hang.Addr().String()
				}
				return t, ok && (name == "demo" || name == "hang")
			}
			c.Upstream.DialTimeout = time.Hour
		})
	c := b.dial(t, "alice@example.com", "demo@hang")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var errb lockedBuffer
	s.Stderr = &errb
	done := make(chan error, 1)
	go func() { done <- s.Run("echo never") }()
	// Wait until the dial is under way: the session has its row.
	waitFor(t, func() bool { return len(b.store.eventsOf("session.start")) == 1 })

	b.revoked.Store(true)
	swept := make(chan struct{})
	go func() { b.server.sweep(); close(swept) }()
	select {
	case <-swept:
	case <-time.After(10 * time.Second):
		t.Fatal("the sweep waited for a hanging dial")
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked connection's session kept waiting for its dial")
	}
	waitFor(t, func() bool { return len(b.store.eventsOf("connection.revoked")) == 1 })
}
