package server

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// A command held for review keeps its connection alive: the bastion sends
// keepalives, so the idle timeout does not end a client that is waiting
// for a reviewer. The idle clock is the server's own, moved by the test;
// the keepalives run on a third of the (short) idle timeout.
func TestHeldCommandKeepsConnectionAlive(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	release := make(chan struct{})
	held := make(chan struct{}, 1)
	judge := func(ctx context.Context, r CommandRequest) (CommandVerdict, error) {
		held <- struct{}{}
		select {
		case <-release:
			return CommandVerdict{Allowed: true, Rule: "r"}, nil
		case <-ctx.Done():
			return CommandVerdict{Reason: "gone"}, nil
		}
	}
	b := startTestBastionWith(t, nil, "access:\n  - {name: ops, groups: [ops], targets: [demo], logins: [demo]}\n",
		func(c *Config) { c.Clock, c.IdleTimeout, c.Commands = clock, 300*time.Millisecond, judge })
	c := b.dial(t, "alice@example.com", "demo@demo")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	s.Stdout = &out
	done := make(chan error, 1)
	go func() { done <- s.Run("echo ran") }()
	<-held
	// Time passes beyond the idle timeout; a keepalive (and its reply)
	// is traffic at the new time, so the sweep finds nothing idle.
	mu.Lock()
	now = now.Add(time.Minute)
	later := now
	mu.Unlock()
	waitFor(t, func() bool {
		b.server.mu.Lock()
		defer b.server.mu.Unlock()
		for cs := range b.server.conns {
			if !cs.nc.idleSince().Before(later) {
				return true
			}
		}
		return false
	})
	b.server.sweep()
	close(release)
	if err := <-done; err != nil || !strings.Contains(out.String(), "ran") {
		t.Fatalf("held command after keepalives: %v, output %q", err, out.String())
	}
}

// A client that closes a held command's channel but keeps the connection
// (as a ControlMaster does) ends the judge's wait: the request is
// withdrawn, not left pending.
func TestHeldCommandChannelClosed(t *testing.T) {
	held := make(chan struct{}, 1)
	gone := make(chan error, 1)
	judge := func(ctx context.Context, r CommandRequest) (CommandVerdict, error) {
		held <- struct{}{}
		<-ctx.Done()
		gone <- context.Cause(ctx)
		return CommandVerdict{Reason: "withdrawn"}, nil
	}
	b := startTestBastionWith(t, nil, "access:\n  - {name: ops, groups: [ops], targets: [demo], logins: [demo]}\n",
		func(c *Config) { c.Commands = judge })
	c := b.dial(t, "alice@example.com", "demo@demo")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	go s.Start("echo never") // blocks until the exec is answered
	<-held
	s.Close()
	select {
	case cause := <-gone:
		if cause != errChannelClosed {
			t.Errorf("cause %v", cause)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the judge kept waiting after the channel closed")
	}
	// The connection itself still works.
	s2, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
}
