package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// guardedShell is an interactive `ssh -tt` session in a pty, typed into
// like a person would.
type guardedShell struct {
	t    *testing.T
	f    *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	seq  int
}

// openShell starts ssh -tt as c and returns once the shell answered a
// first command.
func openShell(t *testing.T, g *gateway, c client) *guardedShell {
	t.Helper()
	args := append(g.sshOpts(c), "-tt", "-p", fmt.Sprint(g.port), "root@target@127.0.0.1")
	s := &guardedShell{t: t, cmd: exec.Command("ssh", args...), done: make(chan struct{})}
	s.cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	f, err := pty.StartWithSize(s.cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	s.f = f
	go func() {
		defer close(s.done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range g.audit(t, "command") {
				if e.Outcome != "allowed" {
					t.Logf("audit %s %s %v", e.Outcome, e.Reason, e.Detail["command"])
				}
			}
		}
		s.cmd.Process.Kill()
		s.cmd.Wait()
		f.Close()
		<-s.done
	})
	// The login files run first, each command judged: this machine's
	// may take a while.
	if !s.waitForWithin(0, promptShown, 90*time.Second) {
		t.Fatalf("no first prompt; output:\n%q", lastBytes(s.text(), 3000))
	}
	s.sync()
	return s
}

func (s *guardedShell) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

func (s *guardedShell) mark() int { return len(s.text()) }

func (s *guardedShell) send(keys string) {
	if _, err := s.f.Write([]byte(keys)); err != nil {
		s.t.Fatal(err)
	}
}

// since returns the output after mark m.
func (s *guardedShell) since(m int) string { return s.text()[m:] }

// waitFor polls until the output after m contains want.
func (s *guardedShell) waitFor(m int, want string) bool {
	return s.waitForWithin(m, want, 20*time.Second)
}

func (s *guardedShell) waitForWithin(m int, want string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !strings.Contains(s.since(m), want) {
		select {
		case <-s.done:
			return strings.Contains(s.since(m), want)
		default:
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// sync types a command whose output differs from its echo and waits for
// that output: everything typed before has been run (or refused).
func (s *guardedShell) sync() {
	s.t.Helper()
	s.seq++
	m := s.mark()
	want := fmt.Sprintf("SYNC%d", s.seq+1000)
	s.send(fmt.Sprintf("echo SYNC$((%d+1000))\r", s.seq))
	if !s.waitFor(m, want) {
		s.t.Fatalf("the shell did not answer; output:\n%q", lastBytes(s.text(), 600))
	}
	s.prompt(m + strings.Index(s.since(m), want))
}

// waitAny polls until the output after m contains one of wants, and
// returns it ("" if none came).
func (s *guardedShell) waitAny(m int, wants ...string) string {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out := s.since(m)
		for _, w := range wants {
			if strings.Contains(out, w) {
				return w
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ""
}

// promptShown is what readline writes as it starts reading a line.
const promptShown = "\x1b[?2004h"

// prompt waits for a prompt after m: the hook reads its verdicts from the
// terminal, so a line typed before the shell reads it may be taken as a
// (wrong) verdict and discarded.
func (s *guardedShell) prompt(m int) {
	s.t.Helper()
	if !s.waitFor(m, promptShown) {
		s.t.Fatalf("no prompt; output:\n%q", lastBytes(s.text(), 3000))
	}
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
