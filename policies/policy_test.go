package policies

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExamplePolicyLoads(t *testing.T) {
	p, err := Load(filepath.Join("..", "policy.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if d := p.Decide(Request{Identity: "x@example.com", Groups: []string{"dba"}, Login: "postgres", Target: "db-7"}); !d.Allowed || d.Rule != "dba-to-databases" {
		t.Errorf("dba to db-7 = %+v", d)
	}
}

func TestDecide(t *testing.T) {
	p, err := Parse([]byte(`access:
  - name: dba
    groups: [dba]
    targets: ["db-*"]
    logins: [postgres]
  - name: alice
    identities: [alice@example.com]
    targets: ["*"]
    logins: [deploy]
    port_forwarding: true
env_allow: [LANG, "LC_*"]
`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		req  Request
		rule string // empty: denied
	}{
		{"group-match", Request{Identity: "x@e.com", Groups: []string{"dev", "dba"}, Login: "postgres", Target: "db-1"}, "dba"},
		{"group-wrong-login", Request{Identity: "x@e.com", Groups: []string{"dba"}, Login: "root", Target: "db-1"}, ""},
		{"group-wrong-target", Request{Identity: "x@e.com", Groups: []string{"dba"}, Login: "postgres", Target: "web-1"}, ""},
		{"identity-match", Request{Identity: "alice@example.com", Login: "deploy", Target: "web-1"}, "alice"},
		{"identity-is-exact", Request{Identity: "alice@example.com.evil", Login: "deploy", Target: "web-1"}, ""},
		{"group-name-is-not-identity", Request{Identity: "dba", Login: "postgres", Target: "db-1"}, ""},
		{"empty-identity", Request{Groups: []string{"dba"}, Login: "postgres", Target: "db-1"}, ""},
		{"no-groups", Request{Identity: "bob@e.com", Login: "postgres", Target: "db-1"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := p.Decide(c.req)
			if d.Allowed != (c.rule != "") || d.Rule != c.rule {
				t.Errorf("Decide = %+v, want rule %q", d, c.rule)
			}
			if !d.Allowed && d.Reason == "" {
				t.Error("a denial must say why")
			}
		})
	}
	if !p.Decide(cases[3].req).PortForwarding || p.Decide(cases[0].req).PortForwarding {
		t.Error("port forwarding must follow the matching rule")
	}
	if !p.EnvAllowed("LC_ALL") || p.EnvAllowed("LD_PRELOAD") {
		t.Error("env allow-list not applied")
	}
	var zero *Policy
	if zero.Decide(cases[0].req).Allowed {
		t.Error("a nil policy must deny")
	}
}

func TestParseRejects(t *testing.T) {
	cases := map[string]string{
		"unknown-field":  "access: []\nacces: []",
		"no-name":        "access:\n  - groups: [a]\n    targets: [x]\n    logins: [y]",
		"duplicate-name": "access:\n  - {name: a, groups: [a], targets: [x], logins: [y]}\n  - {name: a, groups: [b], targets: [x], logins: [y]}",
		"no-subject":     "access:\n  - {name: a, targets: [x], logins: [y]}",
		"no-targets":     "access:\n  - {name: a, groups: [a], logins: [y]}",
		"no-logins":      "access:\n  - {name: a, groups: [a], targets: [x]}",
		"bad-pattern":    "access:\n  - {name: a, groups: [a], targets: [\"[\"], logins: [y]}",
		"empty-pattern":  "access:\n  - {name: a, groups: [a], targets: [\"\"], logins: [y]}",
		"not-yaml":       "access: [",
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(doc)); !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestWatcherKeepsPreviousPolicyOnBadEdit(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policy.yaml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("access:\n  - {name: one, groups: [a], targets: [x], logins: [y]}\n")
	w, err := NewWatcher(file)
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	w.OnReload = func(err error) { errs = append(errs, err) }

	write("access:\n  - {name: two, groups: [a], targets: [x], logins: [y]}\n# changed\n")
	bump(t, file)
	w.check()
	if got := w.Current().Access[0].Name; got != "two" || len(errs) != 1 || errs[0] != nil {
		t.Fatalf("after a valid edit: rule %q, reports %v", got, errs)
	}
	write("access: [\n")
	bump(t, file)
	w.check()
	if got := w.Current().Access[0].Name; got != "two" {
		t.Errorf("a broken edit replaced the policy (rule %q)", got)
	}
	if len(errs) != 2 || errs[1] == nil || !strings.Contains(errs[1].Error(), file) {
		t.Errorf("broken edit not reported with the file name: %v", errs)
	}
}

// bump moves the modification time forward so the change is seen even on
// file systems with coarse timestamps.
func bump(t *testing.T, file string) {
	t.Helper()
	future := time.Now().Add(time.Duration(len(t.Name())) * time.Second)
	if err := os.Chtimes(file, future, future); err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("access:\n  - {name: a, groups: [a], targets: [\"db-*\"], logins: [y]}\nenv_allow: [LANG]"))
	f.Add([]byte("access: [\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(doc)
		if err != nil {
			return
		}
		// A policy that parsed must decide without panicking.
		p.Decide(Request{Identity: "a@b", Groups: []string{"a"}, Login: "y", Target: "db-1"})
	})
}

// With command rules, an env_allow admitting a variable that changes what
// a judged line runs is a policy error naming the pattern and variable.
func TestCommandEnvAllowRefused(t *testing.T) {
	const base = "access:\n  - {name: ops, groups: [ops], targets: [\"*\"], logins: [root]}\ncommands:\n  default: allow\n"
	for pat, name := range map[string]string{
		"PATH": "PATH", "LD_*": "LD_", "L*": "", "*": "", "BASH_F*": "BASH_FUNC_", "?FS": "IFS",
		"PROMPT_*": "PROMPT_COMMAND", "BASH_ENV": "BASH_ENV", "SHELLOPT[S]": "SHELLOPTS", "LD_FOO": "LD_FOO",
	} {
		_, err := Parse([]byte(base + "env_allow: [LANG, \"" + pat + "\"]\n"))
		if err == nil || !strings.Contains(err.Error(), "env_allow") || !strings.Contains(err.Error(), name) ||
			!strings.Contains(err.Error(), pat) {
			t.Errorf("env_allow %q: err %v", pat, err)
		}
	}
	if _, err := Parse([]byte(base + "env_allow: [LANG, \"LC_*\", TZ]\n")); err != nil {
		t.Errorf("harmless env_allow refused: %v", err)
	}
	// Without command rules nothing is judged, so nothing is bypassed.
	if _, err := Parse([]byte("access:\n  - {name: ops, groups: [ops], targets: [\"*\"], logins: [root]}\nenv_allow: [PATH]\n")); err != nil {
		t.Errorf("env_allow without commands refused: %v", err)
	}
}
