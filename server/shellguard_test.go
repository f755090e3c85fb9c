package server

import (
	"bytes"
	"io"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// targetInput stands in for the channel to the target: it keeps what is
// written to it, in order, as the target's terminal would receive it.
type targetInput struct {
	ssh.Channel
	mu  sync.Mutex
	got bytes.Buffer
}

func (c *targetInput) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.got.Write(p)
}

func (c *targetInput) Stderr() io.ReadWriter { return new(bytes.Buffer) }

func (c *targetInput) take() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.got.String()
	c.got.Reset()
	return s
}

// guardWithVerdictOut is a guard whose hook was just sent a verdict and
// has not reported reading it yet.
func guardWithVerdictOut(t *testing.T) (*shellGuard, *targetInput) {
	up := &targetInput{}
	ss := &session{up: up, ch: up}
	g := &shellGuard{ss: ss, held: true}
	timer := time.AfterFunc(time.Hour, func() {})
	t.Cleanup(func() { timer.Stop() })
	g.awaitDone = timer
	ss.sguard = g
	return g, up
}

func noted(noted *[]string) func([]byte) bool {
	return func(p []byte) bool { *noted = append(*noted, string(p)); return true }
}

// While a verdict is out, a key that does not submit a line reaches the
// target at once; a submit, and all typed after it, waits for the hook's
// report, and goes after the text the hook read ahead of the verdict.
func TestShellGuardOnlySubmitWaits(t *testing.T) {
	g, up := guardWithVerdictOut(t)
	var seen []string
	note := noted(&seen)
	g.input([]byte("ls -l"), note)
	if got := up.take(); got != "ls -l" {
		t.Fatalf("a key that submits nothing was held: %q reached the target", got)
	}
	g.input([]byte("\x1b[D\x7f\x03"), note) // editing and Ctrl-C submit nothing either
	if got := up.take(); got != "\x1b[D\x7f\x03" {
		t.Fatalf("editing keys were held: %q reached the target", got)
	}
	g.input([]byte("a\rb"), note)
	if got := up.take(); got != "a" {
		t.Fatalf("with a submit: %q reached the target, want the keys before it", got)
	}
	g.input([]byte("c"), note)
	g.input([]byte("\n"), note) // Ctrl-J
	if got := up.take(); got != "" {
		t.Fatalf("keys typed after a waiting submit overtook it: %q", got)
	}
	g.release("xy\nz")
	if got := up.take(); got != "xy\rz"+"\rbc\n" {
		t.Fatalf("after the hook's report the target got %q", got)
	}
	if g.held {
		t.Fatal("still held after the hook's report")
	}
	g.input([]byte("d\r"), note)
	if got := up.take(); got != "d\r" {
		t.Fatalf("no verdict out: %q reached the target", got)
	}
	if want := []string{"ls -l", "\x1b[D\x7f\x03", "a\rb", "c", "\n", "d\r"}; len(seen) != len(want) {
		t.Fatalf("noted %q, want every keystroke once, as typed: %q", seen, want)
	}
}

// While a command is held for review, keys reach nothing (not even the
// recording); Ctrl-C withdraws the request, once.
func TestShellGuardReviewDropsKeys(t *testing.T) {
	g, up := guardWithVerdictOut(t)
	var seen []string
	withdrawn := 0
	g.review, g.withdraw = true, func() { withdrawn++ }
	g.input([]byte("#123:1\n"), noted(&seen))
	if got := up.take(); got != "" || len(g.typed) != 0 || len(seen) != 0 {
		t.Fatalf("under review: %q passed, %q kept, %q noted", got, g.typed, seen)
	}
	if withdrawn != 0 {
		t.Fatal("withdrawn without Ctrl-C")
	}
	g.input([]byte("x\x03"), noted(&seen))
	g.input([]byte("\x03"), noted(&seen))
	if withdrawn != 1 {
		t.Fatalf("withdrawn %d times", withdrawn)
	}
}

// A "typed" report with no verdict out (forged by output that knows the
// nonce) releases nothing.
func TestShellGuardReleaseNeedsVerdict(t *testing.T) {
	up := &targetInput{}
	ss := &session{up: up}
	ss.sguard = &shellGuard{ss: ss, held: true, typed: []byte("\rkept")}
	ss.sguard.release("rm x\n")
	if !ss.sguard.held || string(ss.sguard.typed) != "\rkept" || up.take() != "" {
		t.Fatal("a report with no verdict out released the keystrokes")
	}
}
