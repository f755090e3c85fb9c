package server

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
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
