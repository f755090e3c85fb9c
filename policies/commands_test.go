package policies

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestCommandsParse(t *testing.T) {
	p, err := Load("../policy.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := &p.Commands
	if c.DefaultAction() != CommandAllow || len(c.Rules) < 3 {
		t.Fatalf("commands: %+v", c)
	}
	dev := CommandSubject{Identity: "bob@x", Groups: []string{"dev"}, Target: "db-1", Login: "postgres"}
	cases := []struct {
		name    string
		subj    CommandSubject
		program string
		args    []string
		rule    string
	}{
		{"program", dev, "rm", []string{"-rf", "/"}, "no-deletes"},
		{"args-glob-spans-slashes", dev, "find", []string{"/a/b", "-exec", "/bin/rm", "{}", ";"}, "no-find-delete"},
		{"args-glob-no-match", dev, "find", []string{"/a", "-name", "x"}, ""},
		{"narrowed-by-group", dev, "systemctl", []string{"restart", "pg"}, "restarts-need-review"},
		{"narrowed-by-target", CommandSubject{Identity: "bob@x", Groups: []string{"dev"}, Target: "web-1", Login: "a"}, "systemctl", []string{"restart", "pg"}, ""},
		{"narrowed-by-identity", CommandSubject{Identity: "agent@ci.example.com", Target: "db-9", Login: "a"}, "systemctl", []string{"stop", "pg"}, "restarts-need-review"},
		{"not-in-groups", CommandSubject{Identity: "eve@x", Groups: []string{"ops"}, Target: "db-1", Login: "a"}, "systemctl", []string{"stop", "pg"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Match(tc.subj, tc.program, tc.args)
			got := ""
			if r != nil {
				got = r.Name
			}
			if got != tc.rule {
				t.Errorf("Match = %q, want %q", got, tc.rule)
			}
		})
	}
	r := c.Match(dev, "psql", []string{"-c", "DROP TABLE x"})
	rv := r.Review(c.DefaultReview())
	if r.Name != "schema-changes" || rv.Approvals != 2 || rv.Timeout != 30*time.Minute || len(rv.Reviewers) != 2 {
		t.Errorf("schema-changes review: %+v", rv)
	}
	if !rv.MayDecide("carol@x", []string{"dba-leads"}) || rv.MayDecide("carol@x", []string{"dev"}) {
		t.Error("MayDecide by group")
	}
}

func TestCommandsDefaults(t *testing.T) {
	var c *Commands
	if c.DefaultAction() != CommandAllow || c.Match(CommandSubject{}, "rm", nil) != nil {
		t.Error("nil commands")
	}
	rv := c.DefaultReview()
	if rv.Approvals != 1 || rv.Timeout != DefaultReviewTimeout || rv.Reviewers[0] != "security" {
		t.Errorf("default review %+v", rv)
	}
	if CommandAction("bogus").Rank() != CommandDeny.Rank() {
		t.Error("unknown action must rank as deny")
	}
}

func TestCommandsRejects(t *testing.T) {
	cases := []struct{ name, doc, field string }{
		{"bad-default", "commands: {default: maybe}", "commands.default"},
		{"missing-name", "commands:\n  rules: [{programs: [rm], action: deny}]", "commands.rules[0].name"},
		{"duplicate-name", "commands:\n  rules: [{name: a, action: deny}, {name: a, action: deny}]", "duplicate"},
		{"name-with-colon", "commands:\n  rules: [{name: 'a:b', action: deny}]", "commands.rules[0].name"},
		{"missing-action", "commands:\n  rules: [{name: a, programs: [rm]}]", "action"},
		{"bad-action", "commands:\n  rules: [{name: a, programs: [rm], action: block}]", "action"},
		{"program-with-path", "commands:\n  rules: [{name: a, programs: [/bin/rm], action: deny}]", "programs"},
		{"bad-program-pattern", "commands:\n  rules: [{name: a, programs: ['[rm'], action: deny}]", "programs"},
		{"args-without-programs", "commands:\n  rules: [{name: a, args: ['*'], action: deny}]", "needs programs"},
		{"reviewers-on-deny", "commands:\n  rules: [{name: a, programs: [rm], action: deny, reviewers: [sec]}]", "only apply to action review"},
		{"bad-timeout", "commands:\n  rules: [{name: a, programs: [rm], action: review, timeout: soon}]", "timeout"},
		{"timeout-too-long", "commands:\n  rules: [{name: a, programs: [rm], action: review, timeout: 48h}]", "timeout"},
		{"too-many-approvals", "commands:\n  rules: [{name: a, programs: [rm], action: review, reviewers: [a@x], approvals: 2}]", "approvals"},
		{"negative-approvals", "commands: {approvals: -1}", "approvals"},
		{"unknown-key", "commands:\n  rules: [{name: a, program: [rm], action: deny}]", "program"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

// A commands edit is picked up by the watcher like any other; a broken one
// leaves the previous rules in force.
func TestCommandsHotReload(t *testing.T) {
	file := t.TempDir() + "/policy.yaml"
	write := func(doc string) {
		if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("commands:\n  rules: [{name: a, programs: [rm], action: deny}]\n")
	w, err := NewWatcher(file)
	if err != nil {
		t.Fatal(err)
	}
	var reloadErr error
	w.OnReload = func(err error) { reloadErr = err }
	write("commands:\n  rules: [{name: b, programs: [rm, shred], action: deny}]\n# longer\n")
	w.check()
	if reloadErr != nil || w.Current().Commands.Rules[0].Name != "b" {
		t.Fatalf("reload: %v %+v", reloadErr, w.Current().Commands)
	}
	write("commands:\n  rules: [{name: c, programs: [rm], action: perhaps}]\n# a broken edit, longer still\n")
	w.check()
	if reloadErr == nil || w.Current().Commands.Rules[0].Name != "b" {
		t.Errorf("a broken edit replaced the rules: %v", reloadErr)
	}
}
