package e2e

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// `bastion replay` on a terminal obeys its keys: pause, step, seek (with
// markers shown), seek back, quit; --at starts part way.
func TestReplayKeysThroughPty(t *testing.T) {
	cast := filepath.Join(t.TempDir(), "keys.cast")
	body := `{"version":2,"width":80,"height":24,"timestamp":1767225600}
[0.5,"o","first-output\r\n"]
[60.0,"o","second-output\r\n"]
[90.0,"m","approved by carol"]
[120.0,"o","third-output\r\n"]
[121.0,"m","exit 0"]
`
	if err := os.WriteFile(cast, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bastionBin, "replay", "--at", "1s", cast)
	f, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := &syncBuffer{}
	go io.Copy(out, f)
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(out.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q on the terminal:\n%q", what, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	press := func(keys string) {
		t.Helper()
		if _, err := f.Write([]byte(keys)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("first-output")
	press(" ")
	waitFor("paused 0:01 / 2:01")
	press(".")
	waitFor("second-output")
	waitFor("step 1:00 / 2:01")
	press(strings.Repeat("\x1b[C", 6))
	waitFor("marker: approved by carol")
	waitFor("seek 1:30 / 2:01")
	press("\x1b[D")
	waitFor("seek 1:25 / 2:01")
	press("q")
	waitFor("quit 1:25 / 2:01")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("replay exited: %v", err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("replay did not quit on q")
	}
	if strings.Contains(out.String(), "third-output") {
		t.Errorf("played past the point reached:\n%q", out.String())
	}
}
