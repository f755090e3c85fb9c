package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Every command and subcommand is described from its own flag set, so
// the man pages and completions cannot drift from the CLI.
func TestDescribeCommands(t *testing.T) {
	docs := describeCommands()
	byName := map[string]commandDoc{}
	for _, d := range docs {
		byName[d.Name()] = d
	}
	for name := range commands() {
		if _, ok := byName[name]; !ok {
			t.Errorf("command %s not described", name)
		}
	}
	for name, flag := range map[string]string{"init": "dir", "serve": "check", "ca sign": "identity", "ca revoke": "identity", "sessions list": "limit"} {
		d, ok := byName[name]
		if !ok {
			t.Errorf("%s not described", name)
			continue
		}
		found := false
		for _, f := range d.Flags {
			found = found || f.Name == flag
		}
		if !found {
			t.Errorf("%s: flag --%s not described (%v)", name, flag, d.Flags)
		}
	}
	if _, ok := byName["completion bash"]; ok {
		t.Error("an argument (completion bash) was taken for a subcommand")
	}
}

// complete runs the generated bash completion for a command line whose
// last word is being typed, and returns the candidates.
func complete(t *testing.T, script string, words ...string) []string {
	t.Helper()
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = "'" + w + "'"
	}
	prog := script + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" + strconv.Itoa(len(words)-1) +
		"\n_bastion\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
	out, err := exec.Command("bash", "--norc", "-c", prog).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

func TestBashCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	script := runOK(t, "completion", "bash")
	for _, c := range []struct {
		words []string
		want  string
	}{
		{[]string{"bastion", "ser"}, "serve"},
		{[]string{"bastion", "ini"}, "init"},
		{[]string{"bastion", "ca", "re"}, "revoke"},
		{[]string{"bastion", "serve", "--ch"}, "--check"},
		{[]string{"bastion", "init", "--ow"}, "--owner"},
		{[]string{"bastion", "ca", "sign", "--ident"}, "--identity"},
	} {
		got := complete(t, script, c.words...)
		if strings.Join(got, " ") != c.want {
			t.Errorf("complete %q = %q, want %q", c.words, got, c.want)
		}
	}
}

func TestZshCompletionParses(t *testing.T) {
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Skip("no zsh on this machine; the bash completion test covers the shared description")
	}
	f := filepath.Join(t.TempDir(), "_bastion")
	os.WriteFile(f, []byte(runOK(t, "completion", "zsh")), 0o644)
	if out, err := exec.Command(zsh, "-n", f).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
}

func TestManPages(t *testing.T) {
	dir := t.TempDir()
	runOK(t, "man", "--dir", dir)
	page, err := os.ReadFile(filepath.Join(dir, "bastion-init.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".TH BASTION-INIT 1", `\-\-dir`, `\-\-owner`, ".SH OPTIONS"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("bastion-init.1 lacks %q", want)
		}
	}
	main, err := os.ReadFile(filepath.Join(dir, "bastion.1"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range commands() {
		if !strings.Contains(string(main), `\fBbastion\-`+name+`\fR(1)`) {
			t.Errorf("bastion.1 does not list %s", name)
		}
		if _, err := os.Stat(filepath.Join(dir, "bastion-"+name+".1")); err != nil {
			t.Errorf("no page for %s: %v", name, err)
		}
	}
	if man, err := exec.LookPath("man"); err == nil {
		out, err := exec.Command(man, "-l", filepath.Join(dir, "bastion-serve.1")).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--check") {
			t.Errorf("man -l bastion-serve.1: %v\n%s", err, out)
		}
	}
}
