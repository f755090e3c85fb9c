package server

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// A revoked certificate's running session is ended with a message and its
// own exit status, and the certificate opens no new connection.
func TestRevocationEndsLiveSession(t *testing.T) {
	b := startTestBastion(t, nil)
	c := b.dial(t, "alice@example.com", "demo@demo")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb lockedBuffer
	s.Stdout, s.Stderr = &out, &errb
	done := make(chan error, 1)
	go func() { done <- s.Run("echo started; sleep 30") }()
	waitFor(t, func() bool { return strings.Contains(out.String(), "started") })

	b.revoked.Store(true)
	b.server.sweep()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the session outlived its revoked certificate")
	}
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != ExitCertificateRevoked {
		t.Errorf("err = %v, want exit status %d", err, ExitCertificateRevoked)
	}
	if !strings.Contains(errb.String(), "certificate revoked; session ended") {
		t.Errorf("stderr = %q", errb.String())
	}
	if len(b.store.eventsOf("session.revoked")) != 1 || len(b.store.eventsOf("connection.revoked")) != 1 {
		t.Errorf("revocation not audited: %+v", b.store.events)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockedBuffer is a bytes.Buffer safe to read while an SSH session writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Shutting down past the grace period ends a running session through its
// finish path: a message, the shutdown exit status and an event.
func TestShutdownEndsSession(t *testing.T) {
	b := startTestBastion(t, nil)
	c := b.dial(t, "alice@example.com", "demo@demo")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb lockedBuffer
	s.Stdout, s.Stderr = &out, &errb
	done := make(chan error, 1)
	go func() { done <- s.Run("echo started; sleep 30") }()
	waitFor(t, func() bool { return strings.Contains(out.String(), "started") })

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no grace: end what runs now
	b.server.Shutdown(ctx)
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the session outlived the shutdown")
	}
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != ExitServerShutdown {
		t.Errorf("err = %v, want exit status %d", err, ExitServerShutdown)
	}
	if !strings.Contains(errb.String(), "shutting down") {
		t.Errorf("stderr = %q", errb.String())
	}
	if len(b.store.eventsOf("session.shutdown")) != 1 || len(b.store.eventsOf("session.end")) != 1 {
		t.Errorf("shutdown not audited: %+v", b.store.events)
	}
}

// A connection with no traffic for the idle timeout is ended by the sweep:
// its session gets the idle exit status and events. The clock is the
// server's own, moved forward by the test.
func TestIdleTimeoutEndsConnection(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	b := startTestBastionWith(t, nil, "access:\n  - {name: ops, groups: [ops], targets: [demo], logins: [demo]}\n",
		func(c *Config) { c.Clock, c.IdleTimeout = clock, time.Minute })
	c := b.dial(t, "alice@example.com", "demo@demo")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb lockedBuffer
	s.Stdout, s.Stderr = &out, &errb
	done := make(chan error, 1)
	go func() { done <- s.Run("echo started; sleep 30") }()
	waitFor(t, func() bool { return strings.Contains(out.String(), "started") })

	b.server.sweep() // not idle yet: nothing happens
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	b.server.sweep()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the idle connection was not ended")
	}
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != ExitIdleTimeout || !strings.Contains(errb.String(), "idle") {
		t.Errorf("err = %v, stderr %q; want exit status %d", err, errb.String(), ExitIdleTimeout)
	}
	waitFor(t, func() bool { return len(b.store.eventsOf("connection.idle")) == 1 })
}

// A revocation list that cannot be read refuses new sessions (fail closed)
// but does not end running ones as if revoked.
func TestRevocationLookupFailure(t *testing.T) {
	var failing atomic.Bool
	b := startTestBastionWith(t, nil, "access:\n  - {name: ops, groups: [ops], targets: [demo], logins: [demo]}\n",
		func(c *Config) {
			c.Revoked = func(context.Context, *ssh.Certificate) (bool, error) {
				if failing.Load() {
					return false, errors.New("database is locked")
				}
				return false, nil
			}
		})
	c := b.dial(t, "alice@example.com", "demo@demo")
	running, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	running.Stdout = &out
	stdin, err := running.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- running.Run("echo started; cat") }()
	waitFor(t, func() bool { return strings.Contains(out.String(), "started") })

	failing.Store(true)
	b.server.sweep()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var errb lockedBuffer
	s.Stderr = &errb
	err = s.Run("echo must-not-run")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != ExitInternal || !strings.Contains(errb.String(), "revocation status unavailable") {
		t.Errorf("new session: err %v stderr %q", err, errb.String())
	}
	// The running session is still there and still works.
	if _, err := stdin.Write([]byte("still-here\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(out.String(), "still-here") })
	stdin.Close()
	if err := <-done; err != nil {
		t.Errorf("running session: %v", err)
	}
}
