package e2e

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// attempt is one way of trying to run a command at a guarded shell: the
// keys typed, each sent once the shell shows a prompt. Placeholders: @C
// the canary's path, @D its directory, @B64 "rm @C" in base64.
type attempt struct {
	name string
	keys []string
	// resize, if set, changes the window before the last key.
	resize bool
}

func rmAttempts() []attempt {
	a := func(name string, keys ...string) attempt { return attempt{name: name, keys: keys} }
	long := "echo " + strings.Repeat("x", 3000) + "; rm @C\r"
	return []attempt{
		a("plain", "rm @C\r"),
		a("semicolon", "ls >/dev/null; rm @C\r"),
		a("and", "true && rm @C\r"),
		a("or", "false || rm @C\r"),
		a("pipe", "echo y | rm @C\r"),
		a("cmdsubst", "echo $(rm @C)\r"),
		a("backticks", "echo `rm @C`\r"),
		a("subshell", "(rm @C)\r"),
		a("braces", "{ rm @C; }\r"),
		a("single-quoted", "'rm' @C\r"),
		a("double-quoted", "\"rm\" @C\r"),
		a("split-quotes", "r''m @C\r"),
		a("backslash", "\\rm @C\r"),
		a("bin-path", "/bin/rm @C\r"),
		a("usr-bin-path", "/usr/bin/rm @C\r"),
		a("variable", "X=rm; $X @C\r"),
		a("variable-braced", "X=rm; ${X} @C\r"),
		a("eval", "eval 'rm @C'\r"),
		a("eval-built", "eval \"r\"\"m @C\"\r"),
		a("bash-c", "bash -c 'rm @C'\r"),
		a("sh-c-variable", "Y='rm @C'; sh -c \"$Y\"\r"),
		a("heredoc-into-sh", "sh <<'EOF'\r", "rm @C\r", "EOF\r"),
		a("base64-into-sh", "echo @B64 | base64 -d | sh\r"),
		a("alias", "alias zap='rm @C'\r", "zap\r"),
		a("function", "zap2() { rm @C; }\r", "zap2\r"),
		a("function-one-line", "zap3() { rm -f @C; }; zap3\r"),
		a("xargs", "echo @C | xargs rm\r"),
		a("find-exec", "find @D -name canary -exec rm {} \\;\r"),
		a("find-delete", "find @D -name canary -delete\r"),
		a("source-script", "echo 'rm @C' > @D/s.sh\r", "source @D/s.sh\r"),
		a("dot-script", "echo 'rm @C' > @D/s2.sh\r", ". @D/s2.sh\r"),
		a("sh-script", "echo 'rm @C' > @D/s3.sh\r", "sh @D/s3.sh\r"),
		a("bash-script", "echo 'rm @C' > @D/s4.sh\r", "bash @D/s4.sh\r"),
		a("python3-c", "python3 -c 'import os; os.remove(\"@C\")'\r"),
		a("perl-e", "perl -e 'unlink \"@C\"'\r"),
		a("backspace", "rmx\x7f @C\r"),
		a("ctrl-u", "ls /nonexistent-dir\x15rm @C\r"),
		a("cursor-insert", "r @C\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D"+strings.Repeat("\x1b[D", 200)+"\x1b[Cm\r"),
		a("ctrl-a", "m @C\x01r\r"),
		a("history-up", "rm @C\r", "\x1b[A\r"),
		a("bang-bang", "rm @C\r", "!!\r"),
		a("caret-subst", "rx @C\r", "^rx^rm\r"),
		a("fc-s", "rx @C\r", "fc -s rx=rm\r"),
		a("tab-completion", "rm @D/cana\t\r"),
		a("ctrl-c-after-allowed", "ls\x03", "rm @C\r"),
		a("enter-before-echo", "r", "m @C\r"),
		a("bracketed-paste-lines", "\x1b[200~ls\rrm @C\rls\r\x1b[201~\r"),
		a("paste-then-enter", "\x1b[200~rm @C\x1b[201~", "\r"),
		a("line-continuation", "rm \\\r@C\r"),
		a("set-o-vi", "set -o vi\r", "rm @C\r", "set -o emacs\r"),
		a("bind-macro", "bind '\"\\C-t\": \"rm @C\\n\"'\r", "\x14"),
		a("bind-x", "bind -x '\"\\C-y\": rm @C'\r", "\x19"),
		a("stty-echo-off", "stty -echo\r", "rm @C\r", "stty echo\r"),
		a("ctrl-j", "rm @C\n"),
		a("long-line", long),
		{name: "resize-mid-line", keys: []string{"rm @C", "\r"}, resize: true},
		a("command-prefix", "command rm @C\r"),
		a("env-prefix", "env rm @C\r"),
		a("nice-prefix", "nice rm @C\r"),
		a("exec", "exec rm @C\r"),
		a("trap-off-then-rm", "trap - DEBUG; rm @C\r"),
		a("unset-bash-command", "unset BASH_COMMAND; BASH_COMMAND=ls; rm @C\r"),
		a("shadow-builtin", "builtin() { :; }; rm @C\r"),
		a("shadow-read", "read() { :; }\r", "rm @C\r"),
		a("functrace-off", "set +T; f4() { rm @C; }; f4\r"),
		a("extdebug-off", "shopt -u extdebug; rm @C\r"),
		a("enable-n", "enable -n trap; rm @C\r"),
		a("new-shell", "bash\r", "rm @C\r"),
		a("printf-into-sh", "printf 'rm @C' | sh\r"),
		a("brace-expansion", "{rm,@C}\r"),
	}
}

func expand(s, canary string) string {
	b64 := base64.StdEncoding.EncodeToString([]byte("rm " + canary))
	s = strings.ReplaceAll(s, "@B64", b64)
	s = strings.ReplaceAll(s, "@C", canary)
	return strings.ReplaceAll(s, "@D", filepath.Dir(canary))
}

// refusals counts command audit events that did not let a command run.
func refusals(t *testing.T, g *gateway) int {
	n := 0
	for _, e := range g.audit(t, "command") {
		if e.Outcome != "allowed" {
			n++
		}
	}
	return n
}

// run types the attempt's keys, each once the shell shows a prompt (or a
// continuation prompt), withdraws what is held for review with Ctrl-C,
// and returns the output it caused.
func (s *guardedShell) run(at attempt, canary string) string {
	s.t.Helper()
	start := s.mark()
	for i, k := range at.keys {
		if at.resize && i == len(at.keys)-1 {
			pty.Setsize(s.f, &pty.Winsize{Rows: 30, Cols: 60})
			defer pty.Setsize(s.f, &pty.Winsize{Rows: 40, Cols: 120})
		}
		m := s.mark()
		s.send(expand(k, canary))
		if !strings.ContainsAny(k, "\r\n\x03\x14\x19") {
			continue // no line submitted yet
		}
		switch s.waitAny(m, "bastion: held:", promptShown, "bastion: denied") {
		case "bastion: held:":
			s.send("\x03")
			if !s.waitFor(m, "withdrawn") {
				s.t.Errorf("%s: a held command was not withdrawn by Ctrl-C", at.name)
			}
		case "":
			s.t.Errorf("%s: no prompt after %q; output:\n%q", at.name, k, lastBytes(s.since(start), 1500))
		}
	}
	s.sync()
	return s.since(start)
}

// Every way of running a denied rm at a guarded shell leaves the canary
// in place and an audit event that refused it.
func TestGuardedShellDeniesRmCorpus(t *testing.T) {
	rg := newReviewGateway(t)
	dir := t.TempDir()
	canary := filepath.Join(dir, "canary")
	if err := os.WriteFile(canary, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openShell(t, rg.gateway, rg.alice)
	attempts := rmAttempts()
	if len(attempts) < 60 {
		t.Fatalf("only %d attempts", len(attempts))
	}
	for _, at := range attempts {
		before := refusals(t, rg.gateway)
		out := s.run(at, canary)
		if _, err := os.Stat(canary); err != nil {
			t.Fatalf("%s: the canary was removed; output:\n%q", at.name, lastBytes(out, 2000))
		}
		if refusals(t, rg.gateway) == before {
			t.Errorf("%s: no refusal audited; output:\n%q", at.name, lastBytes(out, 1500))
		}
	}
}
