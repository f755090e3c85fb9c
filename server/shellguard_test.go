package server

import (
	"bytes"
	"io"
	"strings"
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

// guardJudging is a guard whose hook asked about a command that is being
// judged.
func guardJudging(t *testing.T) (*shellGuard, *targetInput) {
	up := &targetInput{}
	ss := &session{up: up, ch: up}
	g := &shellGuard{ss: ss, held: true}
	ss.sguard = g
	return g, up
}

// verdictOut is what answer does when it sends a verdict.
func verdictOut(t *testing.T, g *shellGuard) {
	timer := time.AfterFunc(time.Hour, func() {})
	t.Cleanup(func() { timer.Stop() })
	g.mu.Lock()
	g.awaitDone = timer
	g.mu.Unlock()
}

func noted(noted *[]string) func([]byte) bool {
	return func(p []byte) bool { *noted = append(*noted, string(p)); return true }
}

// While a command is being judged, a key that does not submit a line
// reaches the target at once; a submit, and all typed after it, waits.
// From the verdict to the hook's report everything waits, and then goes
// after the text the hook read ahead of the verdict, in the order typed.
func TestShellGuardOnlySubmitWaitsForJudge(t *testing.T) {
	g, up := guardJudging(t)
	var seen []string
	note := noted(&seen)
	g.input([]byte("ls -l"), note)
	if got := up.take(); got != "ls -l" {
		t.Fatalf("a key that submits nothing was held while judging: %q reached the target", got)
	}
	g.input([]byte("\x1b[D\x7f"), note) // editing submits nothing either
	if got := up.take(); got != "\x1b[D\x7f" {
		t.Fatalf("editing keys were held: %q reached the target", got)
	}
	g.input([]byte("a\rb"), note)
	if got := up.take(); got != "a" {
		t.Fatalf("with a submit: %q reached the target, want the keys before it", got)
	}
	g.input([]byte("c"), note)
	verdictOut(t, g)
	g.input([]byte("\n"), note) // Ctrl-J
	g.input([]byte("d"), note)
	if got := up.take(); got != "" {
		t.Fatalf("keys overtook a waiting submit or the hook's report: %q", got)
	}
	g.release("xy\nz")
	if got := up.take(); got != "xy\rz"+"\rbc\nd" {
		t.Fatalf("after the hook's report the target got %q", got)
	}
	if g.held {
		t.Fatal("still held after the hook's report")
	}
	g.input([]byte("e\r"), note)
	if got := up.take(); got != "e\r" {
		t.Fatalf("nothing judged: %q reached the target", got)
	}
	if want := []string{"ls -l", "\x1b[D\x7f", "a\rb", "c", "\n", "d", "e\r"}; strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Fatalf("noted %q, want every keystroke once, as typed: %q", seen, want)
	}
}

// A Ctrl-C that reaches the hook while it waits makes bash abandon it: no
// report will come, so nothing waits for one.
func TestShellGuardCtrlCEndsTheWait(t *testing.T) {
	g, up := guardJudging(t)
	g.input([]byte("\x03"), func([]byte) bool { return true })
	if got := up.take(); got != "\x03" {
		t.Fatalf("Ctrl-C while judging: %q reached the target", got)
	}
	if !g.interrupted {
		t.Fatal("a Ctrl-C into the hook's read was not noted")
	}
}

// While a command is held for review, keys reach nothing (not even the
// recording); Ctrl-C withdraws the request, once.
func TestShellGuardReviewDropsKeys(t *testing.T) {
	g, up := guardJudging(t)
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
