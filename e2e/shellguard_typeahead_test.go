package e2e

import (
	"strings"
	"testing"
)

// Keys typed ahead, while commands are being judged and run, reach the
// commands that read them whole and in order: those the hook read before
// its verdict are typed again ahead of the submits that waited.
func TestGuardedShellTypeAheadInOrder(t *testing.T) {
	rg := newReviewGateway(t)
	s := openShell(t, rg.gateway, rg.alice)
	cases := []struct {
		name string
		keys []string
	}{
		{"one-write", []string{`read -r a; read -r b; echo "[$a|$b]"` + "\rfirst line\rsecond\r"}},
		{"keystroke-writes", append([]string{`read -r a; read -r b; echo "[$a|$b]"` + "\r"},
			strings.Split("first line\rsecond\r", "")...)},
	}
	for _, c := range cases {
		m := s.mark()
		for _, k := range c.keys {
			s.send(k)
		}
		if !s.waitFor(m, "[first line|second]") {
			t.Fatalf("%s: typed-ahead lines lost or reordered; output:\n%q", c.name, lastBytes(s.since(m), 1500))
		}
		s.sync()
	}
}
