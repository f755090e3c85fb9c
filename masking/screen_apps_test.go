package masking

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// Full-screen programs and progress meters look the same through the
// masker and the screen model: their output, captured from a pty on this
// machine, comes through byte for byte.
func TestOrdinaryProgramsUnchanged(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("needs script(1) to run programs in a pty")
	}
	m := newTestMasker(t, Config{})
	programs := []struct{ name, cmd string }{
		{"top", "top -n 3 -d 0.2 -p 1"}, // one process: others may print anything
		{"vim", "vim -u NONE -N -c 'normal G' -c 'redraw' -c 'q' /etc/services"},
		{"less", "less -E +G /etc/services"},
		{"progress", `i=0; while [ $i -le 100 ]; do printf '\r%3d%% [%-50s] %d/100 files' $i $(printf '%*s' $((i/2)) '' | tr ' ' '#') $i; i=$((i+5)); done; echo`},
		{"ls-color", "ls -la --color=always /usr/bin | head -200"},
	}
	for _, p := range programs {
		t.Run(p.name, func(t *testing.T) {
			name, _, _ := cutWord(p.cmd)
			if _, err := exec.LookPath(name); err != nil && name != "i=0;" {
				t.Skip(name + " not installed")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c := exec.CommandContext(ctx, "script", "-qfc", "stty rows 24 cols 80; "+p.cmd, "/dev/null")
			c.Env = []string{"TERM=xterm", "PATH=/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"}
			raw, _ := c.Output()
			if len(raw) < 100 {
				t.Skipf("%s printed only %q", p.name, raw)
			}
			pc := m.NewPaced()
			sc := m.NewScreen(80, 24)
			now := time.Unix(0, 0)
			var out []byte
			var off int64
			for i := 0; i < len(raw); i += 512 {
				chunk := pc.AppendWrite(nil, now, raw[i:min(i+512, len(raw))])
				sc.Mask(chunk, off)
				off += int64(len(chunk))
				out = append(out, chunk...)
			}
			rest := pc.AppendFlush(nil)
			sc.Mask(rest, off)
			out = append(out, rest...)
			if string(out) != string(raw) {
				for i := range raw {
					if out[i] != raw[i] {
						t.Fatalf("changed at %d: %q -> %q", i, raw[max(i-40, 0):min(i+40, len(raw))], out[max(i-40, 0):min(i+40, len(out))])
					}
				}
			}
		})
	}
}

func cutWord(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
