package policies

import (
	"errors"
	"strings"
	"testing"
)

const filesPolicy = `access:
  - {name: ops, groups: [ops], targets: ["*"], logins: [root]}
files:
  default: pass
  rules:
    - {path: "/data/phi/**", action: block}
    - {path: "**/*.csv", action: mask}
    - {path: "/srv/{exports,reports}/*", action: mask}
  max_masked_file: 64MiB
`

func TestFilesDecide(t *testing.T) {
	p, err := Parse([]byte(filesPolicy))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		action     FileAction
		rule       string
	}{
		{"block-dir-itself", "/data/phi", FileBlock, "files.rules[0] /data/phi/**"},
		{"block-any-depth", "/data/phi/a/b/c.txt", FileBlock, "files.rules[0] /data/phi/**"},
		{"first-match-wins", "/data/phi/x.csv", FileBlock, "files.rules[0] /data/phi/**"},
		{"sibling-prefix-not-matched", "/data/phix/notes.txt", FilePass, "files.default"},
		{"mask-any-depth", "/home/u/exports/2024/patients.csv", FileMask, "files.rules[1] **/*.csv"},
		{"mask-at-root", "/x.csv", FileMask, "files.rules[1] **/*.csv"},
		{"alternatives", "/srv/reports/q1.txt", FileMask, "files.rules[2] /srv/{exports,reports}/*"},
		{"star-stays-in-segment", "/srv/reports/2024/q1.txt", FilePass, "files.default"},
		{"case-sensitive", "/tmp/X.CSV", FilePass, "files.default"},
		{"default", "/etc/hosts", FilePass, "files.default"},
		// Cleaning happens before matching: no way around a rule by spelling.
		{"dot-dot", "/data/x/../phi/secret.txt", FileBlock, "files.rules[0] /data/phi/**"},
		{"double-slash", "//data//phi/secret.txt", FileBlock, "files.rules[0] /data/phi/**"},
		{"dot", "/data/./phi/secret.txt", FileBlock, "files.rules[0] /data/phi/**"},
		{"trailing-slash", "/data/phi/", FileBlock, "files.rules[0] /data/phi/**"},
		{"relative-made-absolute", "data/phi/x", FileBlock, "files.rules[0] /data/phi/**"},
		{"escape-above-root", "/../../data/phi/x", FileBlock, "files.rules[0] /data/phi/**"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := p.Files.Decide(c.path)
			if d.Action != c.action || d.Rule != c.rule {
				t.Errorf("Decide(%q) = %+v, want %s by %q", c.path, d, c.action, c.rule)
			}
		})
	}
	if !p.Files.Enabled() || p.Files.MaxMasked() != 64<<20 {
		t.Errorf("enabled %v, max %d", p.Files.Enabled(), p.Files.MaxMasked())
	}
}

func TestFilesDefaults(t *testing.T) {
	p, err := Parse([]byte("access: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Files.Enabled() {
		t.Error("no files section must keep sftp passed through")
	}
	if d := p.Files.Decide("/anything"); d.Action != FilePass {
		t.Errorf("zero Files decides %+v", d)
	}
	if p.Files.MaxMasked() != DefaultMaxMaskedFile {
		t.Errorf("default limit %d", p.Files.MaxMasked())
	}
	var nilFiles *Files
	if nilFiles.Enabled() || nilFiles.Decide("/x").Action != FilePass {
		t.Error("nil Files must pass")
	}
	// A non-pass default alone turns the rules on.
	p, err = Parse([]byte("files: {default: mask}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Files.Enabled() || p.Files.Decide("/etc/hosts").Action != FileMask {
		t.Errorf("default mask: %+v", p.Files)
	}
	if p, _ := Parse([]byte("files: {default: pass}\n")); p.Files.Enabled() {
		t.Error("an explicit pass default with no rules is today's passthrough")
	}
}

func TestFilesStricter(t *testing.T) {
	pass := FileDecision{Action: FilePass, Rule: "p"}
	mask := FileDecision{Action: FileMask, Rule: "m"}
	block := FileDecision{Action: FileBlock, Rule: "b"}
	cases := []struct {
		a, b, want FileDecision
		weakens    bool
	}{
		{pass, pass, pass, false},
		{pass, mask, mask, false},
		{mask, pass, mask, true},
		{mask, block, block, false},
		{block, mask, block, true},
		{block, pass, block, true},
		{mask, mask, mask, false},
	}
	for _, c := range cases {
		if got := Stricter(c.a, c.b); got != c.want {
			t.Errorf("Stricter(%s, %s) = %s", c.a.Action, c.b.Action, got.Action)
		}
		if got := Weakens(c.a, c.b); got != c.weakens {
			t.Errorf("Weakens(%s, %s) = %v", c.a.Action, c.b.Action, got)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	good := map[string]int64{"4096": 4096, "4096B": 4096, "64MiB": 64 << 20, "1 GiB": 1 << 30, "10KB": 10000, "2MB": 2e6, "3KiB": 3072}
	for s, want := range good {
		if n, err := parseByteSize(s); err != nil || n != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", s, n, err, want)
		}
	}
	for _, s := range []string{"", "MiB", "1.5MiB", "-1", "64 mib", "64MiBs", "99999999999GiB", "x"} {
		if _, err := parseByteSize(s); err == nil {
			t.Errorf("parseByteSize(%q) accepted", s)
		}
	}
}

func TestFilesRejects(t *testing.T) {
	cases := []struct{ name, doc, field string }{
		{"bad-default", "files: {default: allow}", "files.default"},
		{"missing-action", "files:\n  rules: [{path: /x}]", "files.rules[0].action"},
		{"bad-action", "files:\n  rules: [{path: /x, action: pass}, {path: /y, action: redact}]", "files.rules[1].action"},
		{"missing-path", "files:\n  rules: [{action: block}]", "files.rules[0].path"},
		{"relative-path", "files:\n  rules: [{path: \"*.csv\", action: mask}]", "files.rules[0].path"},
		{"bad-pattern", "files:\n  rules: [{path: \"/data/[phi\", action: block}]", "files.rules[0].path"},
		{"bad-alternation", "files:\n  rules: [{path: \"/data/{a,b\", action: block}]", "files.rules[0].path"},
		{"bad-size", "files: {max_masked_file: 64 mebibytes}", "files.max_masked_file"},
		{"zero-size", "files: {max_masked_file: 0}", "files.max_masked_file"},
		{"unknown-field", "files: {max_masked: 1MiB}", "max_masked"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("error %q does not name %s", err, c.field)
			}
		})
	}
}

func FuzzFilesDecide(f *testing.F) {
	f.Add("/data/phi/**", "/data/phi/x")
	f.Add("**/*.csv", "/a/b.csv")
	f.Add("/srv/{a,b}/[0-9]*", "/srv/a/1")
	f.Fuzz(func(t *testing.T, pattern, p string) {
		fs := Files{Rules: []FileRule{{Path: pattern, Action: FileBlock}}}
		if fs.validate() != nil {
			return
		}
		// A validated pattern decides without panicking, and cleaning is
		// idempotent: the cleaned path decides the same.
		d := fs.Decide(p)
		if d2 := fs.Decide(strings.ReplaceAll(p, "/", "//")); d2 != d {
			t.Errorf("%q and its doubled slashes decide differently: %+v %+v", p, d, d2)
		}
	})
}
