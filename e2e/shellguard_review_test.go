package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/slackreview"
)

// exit ends the shell and waits for ssh to finish.
func (s *guardedShell) exit() {
	s.t.Helper()
	s.send("exit\r")
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.t.Fatal("the shell did not end")
	}
}

// Commands under a review rule, however typed, create nothing until a
// reviewer approves in Slack (the stand-in); then each runs exactly once.
func TestGuardedShellReviewThenRunOnce(t *testing.T) {
	rg := newReviewGateway(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "made")
	s := openShell(t, rg.gateway, rg.alice)
	cases := []attempt{
		{name: "plain", keys: []string{"touch @C\r"}},
		{name: "chain", keys: []string{"ls >/dev/null && touch @C\r"}},
		{name: "subshell", keys: []string{"(touch @C)\r"}},
		{name: "function", keys: []string{"mk() { touch @C; }; mk\r"}},
		{name: "alias", keys: []string{"alias mk2='touch @C'\r", "mk2\r"}},
		{name: "ctrl-a-edit", keys: []string{"ouch @C\x01t\r"}},
	}
	for _, c := range cases {
		start := s.mark()
		for i, k := range c.keys {
			m := s.mark()
			s.send(expand(k, file))
			if i < len(c.keys)-1 {
				s.prompt(m)
			}
		}
		if !s.waitFor(start, "bastion: held:") {
			t.Fatalf("%s: not held; output:\n%q", c.name, lastBytes(s.since(start), 1500))
		}
		m := heldLine.FindStringSubmatch(s.since(start))
		if m == nil {
			t.Fatalf("%s: no held line in %q", c.name, s.since(start))
		}
		id := m[1]
		// Typing while held reaches nothing.
		s.send("rm " + file + "\r")
		if _, err := os.Stat(file); err == nil {
			t.Fatalf("%s: created before approval", c.name)
		}
		if code := rg.press(t, "UCAROL", slackreview.ActionApprove, id); code != http.StatusOK {
			t.Fatalf("%s: approve: %d", c.name, code)
		}
		if !s.waitFor(start, "bastion: approved: request="+id+" by carol@example.com (slack)") {
			t.Fatalf("%s: no approval shown; output:\n%q", c.name, lastBytes(s.since(start), 1500))
		}
		s.sync()
		if _, err := os.Stat(file); err != nil {
			t.Fatalf("%s: the approved command did not run", c.name)
		}
		// Exactly once: removed here, it is not made again.
		os.Remove(file)
		s.sync()
		if _, err := os.Stat(file); err == nil {
			t.Fatalf("%s: the approved command ran twice", c.name)
		}
	}
	s.exit()
	sess := rg.waitSession(t, func(r sessionRow) bool { return r.Kind == "shell" })
	rec, _ := os.ReadFile(sess.Recording)
	if !bytes.Contains(rec, []byte(`approved: request=`)) || !bytes.Contains(rec, []byte(`"m"`)) {
		t.Errorf("no approval marker in the recording")
	}
	if bytes.Contains(rec, []byte("\x1b]7771;")) || bytes.Contains(rec, []byte(`\u001b]7771;`)) {
		t.Errorf("the hook's requests reached the recording")
	}
}

// Allowed work at a guarded shell behaves as without the guard: commands
// and their output, tab completion, history, full-screen programs, and a
// recording that the stock player replays.
func TestGuardedShellAllowedWork(t *testing.T) {
	rg := newReviewGateway(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "uniquefilename-abc"), []byte("x"), 0o644)
	s := openShell(t, rg.gateway, rg.alice)
	base := s.mark() // the login files' own refusals come before
	step := func(name, keys, want string) {
		t.Helper()
		m := s.mark()
		s.send(keys)
		if !s.waitFor(m, want) {
			t.Fatalf("%s: no %q in %q", name, want, lastBytes(s.since(m), 1500))
		}
		s.prompt(m + strings.Index(s.since(m), want))
	}
	step("arithmetic", "echo hello-$((6*7))\r", "hello-42")
	step("pipeline", "printf 'b\\na\\n' | sort | tr a-z A-Z | head -1\r", "A\r\n")
	step("cd", "cd "+dir+" && pwd\r", dir+"\r\n")
	step("tab-completion", "ls uniquef\t\r", "uniquefilename-abc\r\n")
	step("history-up", "echo hist-$((1+1))\r", "hist-2")
	m := s.mark()
	s.send("\x1b[A\r")
	if !s.waitFor(m, "hist-2\r\n") {
		t.Fatalf("history: %q", s.since(m))
	}
	s.sync()
	// top draws its screen and quits on q; vim takes the alternate
	// screen and gives it back.
	m = s.mark()
	s.send("top\r")
	if !s.waitFor(m, "load average") {
		t.Fatalf("top: %q", lastBytes(s.since(m), 1500))
	}
	s.send("q")
	s.prompt(m)
	s.sync()
	m = s.mark()
	s.send("vim -u NONE\r")
	if !s.waitFor(m, "\x1b[?1049h") {
		t.Fatalf("vim: no alternate screen: %q", lastBytes(s.since(m), 1500))
	}
	s.send("\x1b:q!\r")
	if !s.waitFor(m, "\x1b[?1049l") {
		t.Fatalf("vim did not leave: %q", lastBytes(s.since(m), 1500))
	}
	s.prompt(m)
	s.sync()
	if strings.Contains(s.since(base), "bastion: denied") {
		t.Errorf("allowed work was refused: %q", s.since(base))
	}
	s.exit()
	sess := rg.waitSession(t, func(r sessionRow) bool { return r.Kind == "shell" })
	out := asciinemaCat(t, sess.Recording)
	for _, want := range []string{"hello-42", "uniquefilename-abc", "hist-2"} {
		if !strings.Contains(out, want) {
			t.Errorf("the replay lacks %q", want)
		}
	}
	if strings.Contains(out, "7771;") {
		t.Errorf("the hook's requests reached the replay")
	}
}

// interactive: deny refuses a shell and keeps exec (judged); a guarded
// shell without a terminal is refused too.
func TestInteractiveDenyAndNoPty(t *testing.T) {
	policy := strings.Replace(commandsPolicy, "    logins: [root]\n", "    logins: [root]\n    interactive: deny\n", 1)
	g := newGatewayWith(t, t.TempDir(), "", policy)
	args := append(g.sshOpts(g.alice), "-tt", "-p", fmt.Sprint(g.port), "root@target@127.0.0.1")
	r := runCmd(t, "ssh", args...)
	if r.code != exitCommandDenied || !strings.Contains(r.stderr+r.stdout, "interactive shells are not allowed here") {
		t.Errorf("shell under deny: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := g.ssh(t, g.alice, "root@target", "echo exec-ok"); r.code != 0 || !strings.Contains(r.stdout, "exec-ok") {
		t.Errorf("exec under deny: %d %q", r.code, r.stderr)
	}
	if r := g.ssh(t, g.alice, "root@target", "rm /nonexistent"); r.code != exitCommandDenied {
		t.Errorf("rm by exec under deny: %d", r.code)
	}
	g2 := newGatewayWith(t, t.TempDir(), "", commandsPolicy)
	args = append(g2.sshOpts(g2.alice), "-T", "-p", fmt.Sprint(g2.port), "root@target@127.0.0.1")
	r = runCmd(t, "ssh", args...)
	if r.code != exitCommandDenied || !strings.Contains(r.stderr, "a shell without a terminal is not allowed here") {
		t.Errorf("shell without a pty: %d %q", r.code, r.stderr)
	}
}
