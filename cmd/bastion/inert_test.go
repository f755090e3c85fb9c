package main

import (
	"strings"
	"testing"
)

func TestInert(t *testing.T) {
	cases := []struct{ in, want string }{
		{"ls -l /tmp", "ls -l /tmp"},
		{"echo \x1b[2J\x1b]0;pwned\x07", `echo \x1b[2J\x1b]0;pwned\x07`},
		{"a\nb\tc\r", `a\nb\tc\r`},
		{`back\slash`, `back\\slash`},
		{"csi \u009b31m", `csi \x9b31m`},
		{"rtl \u202egnp.exe", `rtl \u202egnp.exe`},
		{"bad \xff utf8", `bad \xff utf8`},
		{"ünïcödé ok", "ünïcödé ok"},
	}
	for _, c := range cases {
		if got := inert(c.in); got != c.want {
			t.Errorf("inert(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzInert(f *testing.F) {
	for _, s := range []string{"", "\x1b[31mred", "\u202e", "\xff\xfe", `\x1b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := inert(s)
		for _, r := range out {
			if needsEscape(r) {
				t.Fatalf("inert(%q) = %q keeps %U", s, out, r)
			}
		}
		if strings.ContainsRune(out, '\x1b') {
			t.Fatalf("escape survived in %q", out)
		}
	})
}
