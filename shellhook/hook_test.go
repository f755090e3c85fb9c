package shellhook

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// hookShell is bash started with the hook's rcfile in a pty, as a
// guarded shell is on a target; the test plays the bastion's part.
type hookShell struct {
	t    *testing.T
	dir  string // its working directory
	f    *os.File
	mu   sync.Mutex
	out  bytes.Buffer // output with the requests taken out
	reqs chan Request
}

func startHookShell(t *testing.T) *hookShell {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	rc := filepath.Join(dir, "rc")
	if err := os.WriteFile(rc, []byte(Script(testNonce)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "--rcfile", rc, "-i")
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "TERM=dumb", "PS1=$ "}
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	s := &hookShell{t: t, dir: dir, f: f, reqs: make(chan Request, 64)}
	done := make(chan struct{})
	go func() { // owned: ends when the pty closes, waited for in Cleanup
		defer close(done)
		scan := NewScanner(testNonce)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			out, reqs := scan.Feed(buf[:n])
			s.mu.Lock()
			s.out.Write(out)
			s.mu.Unlock()
			for _, r := range reqs {
				s.reqs <- r
			}
			if err != nil {
				close(s.reqs)
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		f.Close()
		<-done
	})
	// The login files run; each command is allowed, as a bastion would.
	for r := s.next(); !r.Ready; r = s.next() {
		s.answer(r, true)
	}
	return s
}

func (s *hookShell) next() Request {
	s.t.Helper()
	select {
	case r, ok := <-s.reqs:
		if !ok {
			s.t.Fatalf("the shell ended; output %q", s.output())
		}
		return r
	case <-time.After(30 * time.Second):
		s.t.Fatalf("no request from the hook; output %q", s.output())
	}
	return Request{}
}

// answer does what the bastion does: a verdict for a command, and the
// typed-ahead text typed again after the hook's report.
func (s *hookShell) answer(r Request, run bool) {
	switch {
	case r.Done:
		s.send(strings.ReplaceAll(r.Typed, "\n", "\r"))
	case r.Challenge != "":
		s.send(string(Verdict(r.Challenge, run)))
	}
}

func (s *hookShell) send(keys string) {
	if _, err := s.f.Write([]byte(keys)); err != nil {
		s.t.Fatal(err)
	}
}

func (s *hookShell) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// run types line and allows every command it leads to, until the
// output shows want.
func (s *hookShell) run(line, want string) {
	s.t.Helper()
	s.send(line)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.output(), want) {
		select {
		case r := <-s.reqs:
			s.answer(r, true)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no %q after %q; output %q", want, line, s.output())
		}
	}
}

// Someone who learnt a challenge (the verdict's only secret) and types
// "#CHALLENGE:1" while the hook waits cannot end the hook's read with it:
// the bastion holds Enter back while a verdict is out, and a read cut
// short by end of file (Ctrl-D) is not a verdict.
func TestHookVerdictIsAWholeLine(t *testing.T) {
	s := startHookShell(t)
	s.send("touch made\r")
	r := s.next()
	if r.Command != "touch made" {
		t.Fatalf("asked about %q", r.Command)
	}
	// A line typed ahead makes the hook read on; then the forged
	// verdict, and Ctrl-D twice: the first hands "#C:1" to the read,
	// the second is end of file.
	s.send("ahead\n#" + r.Challenge + ":1\x04\x04")
	for r = s.next(); !r.Done; r = s.next() {
		s.answer(r, true)
	}
	s.run("echo fin$((6*7))\r", "fin42")
	if _, err := os.Stat(filepath.Join(s.dir, "made")); err == nil {
		t.Fatal("a verdict typed by the user, ended by Ctrl-D, ran the command")
	}
}

// With xtrace on, the trace shows the user's commands but never the
// hook's: the challenge it draws is not printed.
func TestHookChallengeNotTraced(t *testing.T) {
	s := startHookShell(t)
	s.run("set -x; echo m$((2+3))\r", "m5")
	s.send("true\r")
	r := s.next()
	for r.Challenge == "" || r.Command != "true" {
		s.answer(r, true)
		r = s.next()
	}
	chal := r.Challenge
	s.answer(r, true)
	s.run("echo fin$((6*7))\r", "fin42")
	if strings.Contains(s.output(), chal) {
		t.Fatalf("the challenge was traced: %q", s.output())
	}
	if !strings.Contains(s.output(), "+ true") {
		t.Fatalf("xtrace no longer traces the user's commands: %q", s.output())
	}
}
