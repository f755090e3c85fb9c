package server

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// startLong runs a command on c that prints "started" and then runs until
// it is ended; the returned channel yields its result.
func startLong(t *testing.T, c *ssh.Client) (<-chan error, *lockedBuffer) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb lockedBuffer
	s.Stdout, s.Stderr = &out, &errb
	done := make(chan error, 1)
	go func() { done <- s.Run("echo started; sleep 60") }()
	waitFor(t, func() bool { return strings.Contains(out.String(), "started") })
	return done, &errb
}

func statusOf(err error) int {
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		return ee.ExitStatus()
	}
	return -1
}

// A drain takes no new work (connections, sessions) while running sessions
// go on; at the deadline they end through their finish path.
func TestDrainRefusesNewWorkThenEndsSessionsAtDeadline(t *testing.T) {
	b := startTestBastion(t, nil)
	busy := b.dial(t, "alice@example.com", "demo@demo")
	idle := b.dial(t, "bob@example.com", "demo@demo")
	running, runningErr := startLong(t, busy)

	deadline, expire := context.WithCancel(context.Background())
	defer expire()
	shutdown := make(chan error, 1)
	go func() { shutdown <- b.server.Shutdown(deadline) }()
	waitFor(t, b.server.Draining)

	// A connection with nothing running is closed at once.
	idleClosed := make(chan error, 1)
	go func() { idleClosed <- idle.Wait() }()
	select {
	case <-idleClosed:
	case <-time.After(10 * time.Second):
		t.Fatal("an idle connection stayed open during the drain")
	}
	// No new connection.
	waitFor(t, func() bool {
		c, err := net.Dial("tcp", b.addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	// No new session on an open connection: refused with the shutdown status.
	s, err := busy.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var newErr lockedBuffer
	s.Stderr = &newErr
	if err := s.Run("echo must-not-run"); statusOf(err) != ExitServerShutdown {
		t.Errorf("new session during the drain: %v, want exit status %d", err, ExitServerShutdown)
	}
	if !strings.Contains(newErr.String(), "shutting down; session refused") {
		t.Errorf("new session's stderr = %q", newErr.String())
	}
	// The running session is untouched until the deadline.
	select {
	case err := <-running:
		t.Fatalf("the running session ended before the deadline: %v", err)
	default:
	}

	expire()
	select {
	case err := <-running:
		if statusOf(err) != ExitServerShutdown {
			t.Errorf("running session: %v, want exit status %d", err, ExitServerShutdown)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the running session outlived the deadline")
	}
	if !strings.Contains(runningErr.String(), "shutting down; session ended") {
		t.Errorf("running session's stderr = %q", runningErr.String())
	}
	if err := <-shutdown; !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown = %v, want the deadline's error", err)
	}
	if n := len(b.store.eventsOf("session.shutdown")); n != 2 {
		t.Errorf("%d session.shutdown events, want 2 (one refused, one ended)", n)
	}
	if n := len(b.store.eventsOf("connection.shutdown")); n != 2 {
		t.Errorf("%d connection.shutdown events, want 2 (idle, busy)", n)
	}
	b.store.mu.Lock()
	defer b.store.mu.Unlock()
	ended := 0
	for _, e := range b.store.ends {
		if e.ExitStatus != nil && *e.ExitStatus == ExitServerShutdown {
			ended++
		}
	}
	if ended != 1 || len(b.store.sessions) != 1 {
		t.Errorf("%d session rows ended with %d, %d rows (the refused session has none): %+v", ended, ExitServerShutdown, len(b.store.sessions), b.store.ends)
	}
}

// A drain whose sessions all end before the deadline is over then.
func TestDrainEndsWhenSessionsEnd(t *testing.T) {
	b := startTestBastion(t, nil)
	c := b.dial(t, "alice@example.com", "demo@demo")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := s.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	s.Stdout = &out
	if err := s.Start("echo started; cat"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(out.String(), "started") })

	// Far longer than the test needs: returning nil says the drain ended
	// because the session did, not because time ran out.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	shutdown := make(chan error, 1)
	go func() { shutdown <- b.server.Shutdown(ctx) }()
	waitFor(t, b.server.Draining)
	io.WriteString(stdin, "last words\n")
	stdin.Close()
	if err := s.Wait(); err != nil {
		t.Fatalf("the session was cut short: %v", err)
	}
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown = %v, want nil", err)
	}
	if !strings.Contains(out.String(), "last words") {
		t.Errorf("output %q", out.String())
	}
	if n := len(b.store.eventsOf("session.shutdown")); n != 0 {
		t.Errorf("%d sessions ended by the shutdown", n)
	}
}

// The certificate sweep keeps running while the bastion drains: a session
// whose certificate is revoked meanwhile is ended as revoked, without
// waiting for the drain's deadline.
func TestRevocationEndsSessionDuringDrain(t *testing.T) {
	b := startTestBastionWith(t, nil, demoPolicy, func(c *Config) { c.SweepInterval = 20 * time.Millisecond })
	c := b.dial(t, "alice@example.com", "demo@demo")
	running, _ := startLong(t, c)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // not reached
	defer cancel()
	shutdown := make(chan error, 1)
	go func() { shutdown <- b.server.Shutdown(ctx) }()
	waitFor(t, b.server.Draining)
	b.revoked.Store(true)
	select {
	case err := <-running:
		if statusOf(err) != ExitCertificateRevoked {
			t.Errorf("session: %v, want exit status %d", err, ExitCertificateRevoked)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a revoked certificate's session ran on during the drain")
	}
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown = %v, want nil (the drain ended with its last session)", err)
	}
}
