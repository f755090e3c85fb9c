package recorder

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// asciinemaCat runs the real `asciinema cat` on path and returns its output.
// asciinema reads /dev/tty, so it runs with a pseudo-terminal as its
// controlling terminal, and its standard output goes to a buffer, not the
// terminal, so the bytes are not changed by terminal output processing.
func asciinemaCat(t *testing.T, path string) []byte {
	t.Helper()
	bin, err := exec.LookPath("asciinema")
	if err != nil {
		t.Skipf("asciinema not installed (%v); install it to check compatibility with the stock player", err)
	}
	_, pts := openPTY(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "cat", path)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, &stdout, &stderr
	cmd.SysProcAttr = ttySysProcAttr()
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "ASCIINEMA_CONFIG_HOME="+filepath.Join(home, "asciinema"))
	if err := cmd.Run(); err != nil {
		t.Fatalf("asciinema cat %s: %v\n%s", path, err, stderr.Bytes())
	}
	return stdout.Bytes()
}

func TestAsciinemaCat(t *testing.T) {
	w, path, clk := newTestWriter(t, Options{Signer: testKey, CheckpointEvery: -1})
	chunks := []string{
		"\x1b[01;34mdir\x1b[0m  \x1b[01;32mrun.sh\x1b[0m\r\n",
		"caf\u00e9 \u65e5\u672c\r\n",
		"tab\there \"quoted\" back\\slash\r\n",
		"\x1b[?1049h\x1b[H\x1b[2J",
		"\x07bell and \x7f del\r\n",
		"emoji \U0001F600 and \u2028 separator\r\n",
	}
	var want []byte
	for i, c := range chunks {
		clk.Advance(50 * time.Millisecond)
		if i == 3 {
			if err := w.Resize(132, 43); err != nil {
				t.Fatal(err)
			}
			if err := w.Marker("command approved by bob"); err != nil {
				t.Fatal(err)
			}
			if err := w.Input([]byte("q")); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Output([]byte(c)); err != nil {
			t.Fatal(err)
		}
		want = append(want, c...)
	}
	if _, err := w.Close(ExitInfo{Status: 3}); err != nil {
		t.Fatal(err)
	}
	if got := asciinemaCat(t, path); !bytes.Equal(got, want) {
		t.Errorf("asciinema cat printed\n%q\nwant\n%q", got, want)
	}
}
