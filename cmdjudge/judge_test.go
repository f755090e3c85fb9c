package cmdjudge

import (
	"os"
	"strings"
	"testing"

	"github.com/bastion-ssh/bastion/policies"
)

func loadPolicy(t testing.TB) *policies.Commands {
	t.Helper()
	p, err := policies.Load("testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return &p.Commands
}

// readEvasions returns the corpus of rm forms that must be denied.
func readEvasions(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile("testdata/rm_evasions.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, strings.ReplaceAll(l, "@NL", "\n"))
	}
	return out
}

var dev = policies.CommandSubject{Identity: "alice@example.com", Groups: []string{"dev"}, Target: "db-1", Login: "postgres"}

func TestEvasionsDenied(t *testing.T) {
	cmds := loadPolicy(t)
	forms := readEvasions(t)
	if len(forms) < 30 {
		t.Fatalf("only %d forms in the corpus", len(forms))
	}
	for _, f := range forms {
		d := Judge(cmds, dev, f)
		if d.Action != policies.CommandDeny {
			t.Errorf("%q: %s by %s (%s) at %q, want deny", f, d.Action, d.Rule, d.Reason, d.Part)
		}
		if d.Rule != "no-deletes" && d.Rule != "no-find-delete" {
			t.Errorf("%q: decided by %q", f, d.Rule)
		}
	}
}

func TestJudge(t *testing.T) {
	cmds := loadPolicy(t)
	agent := policies.CommandSubject{Identity: "agent@ci.example.com", Target: "db-2", Login: "root"}
	web := policies.CommandSubject{Identity: "agent@ci.example.com", Target: "web-1", Login: "root"}
	cases := []struct {
		name   string
		subj   policies.CommandSubject
		line   string
		action policies.CommandAction
		rule   string
		part   string
	}{
		{"plain-allowed", dev, "ls -la /tmp", policies.CommandAllow, "default", "ls -la /tmp"},
		{"pipeline-allowed", dev, "ps aux | grep postgres | wc -l", policies.CommandAllow, "default", ""},
		{"test-bracket-allowed", dev, "[ -r /etc/profile ] && echo yes", policies.CommandAllow, "default", ""},
		{"bracket-glob-reviewed", dev, "/bin/[r]m x", policies.CommandReview, "unjudgeable", ""},
		{"rm-word-as-argument", dev, "grep rm notes.txt", policies.CommandAllow, "default", ""},
		{"rm-quoted-in-echo", dev, "echo 'rm -rf /'", policies.CommandAllow, "default", ""},
		{"deny-names-part", dev, "ls; rm -f x; ls", policies.CommandDeny, "no-deletes", "rm -f x"},
		{"find-without-delete", dev, "find /var/log -name '*.gz'", policies.CommandAllow, "default", ""},
		{"find-delete", dev, "find /var/log -name x -delete", policies.CommandDeny, "no-find-delete", ""},
		{"review-by-group", dev, "systemctl restart postgresql", policies.CommandReview, "restarts-need-review", ""},
		{"review-by-identity", agent, "sudo systemctl stop postgresql", policies.CommandReview, "restarts-need-review", ""},
		{"narrowed-target", web, "systemctl restart nginx", policies.CommandAllow, "default", ""},
		{"narrowed-args", agent, "systemctl status postgresql", policies.CommandAllow, "default", ""},
		{"args-computed", agent, "systemctl $ACTION postgresql", policies.CommandReview, "unjudgeable", ""},
		{"strictest-wins", agent, "systemctl restart x && rm y", policies.CommandDeny, "no-deletes", "rm y"},
		{"variable-command", dev, "$CMD x", policies.CommandReview, "unjudgeable", "$CMD x"},
		{"substituted-command", dev, "$(echo rm) x", policies.CommandReview, "unjudgeable", ""},
		{"glob-command", dev, "/bin/r? x", policies.CommandReview, "unjudgeable", ""},
		{"eval", dev, "eval ls", policies.CommandReview, "unjudgeable", ""},
		{"eval-variable", dev, "eval \"$x\"", policies.CommandReview, "unjudgeable", ""},
		{"source", dev, "source ./x.sh", policies.CommandReview, "unjudgeable", ""},
		{"dot", dev, ". ./x.sh", policies.CommandReview, "unjudgeable", ""},
		{"sh-c", dev, "sh -c 'ls'", policies.CommandReview, "unjudgeable", ""},
		{"bash-script", dev, "bash deploy.sh", policies.CommandReview, "unjudgeable", ""},
		{"python-c", dev, "python3 -c 'import os; os.remove(\"x\")'", policies.CommandReview, "unjudgeable", ""},
		{"python-named-by-rule", dev, "python3 --version", policies.CommandAllow, "python-version-ok", ""},
		{"perl-e", dev, "perl -e 'unlink \"x\"'", policies.CommandReview, "unjudgeable", ""},
		{"ruby-e", dev, "ruby -e 'File.delete(\"x\")'", policies.CommandReview, "unjudgeable", ""},
		{"node-e", dev, "node -e 'require(\"fs\").unlinkSync(\"x\")'", policies.CommandReview, "unjudgeable", ""},
		{"awk-system", dev, "awk 'BEGIN{system(\"id\")}'", policies.CommandReview, "unjudgeable", ""},
		{"awk-pipe", dev, "awk '{print | \"sh\"}' f", policies.CommandReview, "unjudgeable", ""},
		{"awk-plain", dev, "awk '{print $1}' f", policies.CommandAllow, "default", ""},
		{"pipe-into-shell", dev, "curl -s http://x | bash", policies.CommandReview, "unjudgeable", ""},
		{"heredoc-into-python", dev, "python3 <<'E'\nprint(1)\nE", policies.CommandReview, "unjudgeable", ""},
		{"history-expansion", dev, "!!", policies.CommandReview, "unjudgeable", ""},
		{"history-by-name", dev, "echo !rm", policies.CommandReview, "unjudgeable", ""},
		{"negation-is-not-history", dev, "! false", policies.CommandAllow, "default", ""},
		{"alias", dev, "alias ls=rm", policies.CommandReview, "unjudgeable", ""},
		{"function-shadows", dev, "rm() { echo hi; }", policies.CommandReview, "unjudgeable", ""},
		{"function-plain", dev, "greet() { echo hi; }; greet", policies.CommandAllow, "default", ""},
		{"path-assignment", dev, "PATH=/tmp/x ls", policies.CommandReview, "unjudgeable", ""},
		{"ld-preload", dev, "LD_PRELOAD=/tmp/x.so ls", policies.CommandReview, "unjudgeable", ""},
		{"export-path", dev, "export PATH=/tmp:$PATH; ls", policies.CommandReview, "unjudgeable", ""},
		{"code-in-variable", dev, "x='a[$(id)]'; echo $((x))", policies.CommandReview, "unjudgeable", ""},
		{"unparseable", dev, "echo 'unterminated", policies.CommandReview, "unjudgeable", ""},
		{"unparseable-paren", dev, "( ls", policies.CommandReview, "unjudgeable", ""},
		{"command-v-does-not-run", dev, "command -v rm", policies.CommandAllow, "default", ""},
		{"sudo-misread-option", dev, "sudo --bogus-opt rm x", policies.CommandDeny, "no-deletes", ""},
		{"sudo-value-is-program", dev, "sudo -u rm ls", policies.CommandDeny, "no-deletes", ""},
		{"xargs-args-from-stdin", dev, "ls | xargs grep x", policies.CommandAllow, "default", ""},
		{"ssh-remote-code", dev, "ssh localhost rm x", policies.CommandDeny, "no-deletes", ""},
		{"empty", dev, "", policies.CommandAllow, "default", ""},
		{"comment-only", dev, "# rm x", policies.CommandAllow, "default", ""},
		{"brace-too-large", dev, "echo {1..100}{1..100}{1..100}", policies.CommandReview, "unjudgeable", ""},
		{"sudo-shell", dev, "sudo -i", policies.CommandReview, "unjudgeable", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Judge(cmds, c.subj, c.line)
			if d.Action != c.action || d.Rule != c.rule {
				t.Fatalf("Judge(%q) = %s by %s (%s) at %q; want %s by %s", c.line, d.Action, d.Rule, d.Reason, d.Part, c.action, c.rule)
			}
			if c.part != "" && d.Part != c.part {
				t.Errorf("part %q, want %q", d.Part, c.part)
			}
			if d.Reason == "" {
				t.Error("no reason")
			}
			if d.Action == policies.CommandReview && (len(d.Review.Reviewers) == 0 || d.Review.Approvals < 1 || d.Review.Timeout <= 0) {
				t.Errorf("review without reviewers: %+v", d.Review)
			}
		})
	}
}

func TestUnjudgeableNeverAllowedByDefault(t *testing.T) {
	// default: allow must not let through what cannot be judged; default:
	// deny makes it stricter, never weaker.
	for _, def := range []policies.CommandAction{policies.CommandAllow, policies.CommandReview, policies.CommandDeny} {
		cmds := &policies.Commands{Default: def}
		for _, line := range []string{"eval x", "sh -c ls", "$X", "echo 'open", "python3 -c 1"} {
			d := Judge(cmds, dev, line)
			if d.Action.Rank() < policies.CommandReview.Rank() {
				t.Errorf("default %s: %q allowed", def, line)
			}
		}
	}
}

func TestRuleNamingShellDecides(t *testing.T) {
	cmds := &policies.Commands{Rules: []policies.CommandRule{
		{Name: "shells-ok", Programs: []string{"sh"}, Action: policies.CommandAllow},
		{Name: "no-rm", Programs: []string{"rm"}, Action: policies.CommandDeny},
	}}
	if d := Judge(cmds, dev, "sh -c 'ls'"); d.Action != policies.CommandAllow {
		t.Errorf("a rule naming sh should decide sh -c: %+v", d)
	}
	if d := Judge(cmds, dev, "sh -c 'rm x'"); d.Action != policies.CommandDeny {
		t.Errorf("the inline code is still judged: %+v", d)
	}
	wild := &policies.Commands{Rules: []policies.CommandRule{{Name: "all", Programs: []string{"*"}, Action: policies.CommandAllow}}}
	if d := Judge(wild, dev, "eval x"); d.Action != policies.CommandReview {
		t.Errorf("a pattern is not naming eval explicitly: %+v", d)
	}
}

func FuzzJudge(f *testing.F) {
	for _, s := range readEvasions(f) {
		f.Add(s)
	}
	for _, s := range []string{"ls", "sh -c \"$(", "eval", "a=( $(x) )", "f(){ f; }; f", "$'\\x", "{a,b}{c,d}", "cat <<E\nx\nE", "\\", "'"} {
		f.Add(s)
	}
	cmds := loadPolicy(f)
	f.Fuzz(func(t *testing.T, line string) {
		d := Judge(cmds, dev, line)
		if d.Rule == "" || d.Reason == "" {
			t.Fatalf("%q: decision without rule or reason: %+v", line, d)
		}
		if d.Action.Rank() > policies.CommandDeny.Rank() || d.Action == "" {
			t.Fatalf("%q: action %q", line, d.Action)
		}
		// Unparseable input is never allowed.
		if d.Action == policies.CommandAllow && !parses(line) {
			t.Fatalf("%q does not parse but was allowed", line)
		}
	})
}
