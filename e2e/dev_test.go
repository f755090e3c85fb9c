package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDevDemo is what `make demo` promises: one command brings up the
// stack, and stock ssh with the generated ssh_config reaches the demo host.
func TestDevDemo(t *testing.T) {
	requireTools(t, "ssh")
	dir := filepath.Join(t.TempDir(), "dev")
	port := freePort(t)
	cmd := exec.Command(bastionBin, "dev", "--data", dir, "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	var out syncBuffer // read while bastion dev writes (the Slack stand-in prints)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	waitPort(t, fmt.Sprintf("127.0.0.1:%d", port), cmd.Process)
	waitFile(t, filepath.Join(dir, "ssh_config"))

	r := runCmd(t, "ssh", "-F", filepath.Join(dir, "ssh_config"), "-o", "BatchMode=yes", "demo", "echo ok")
	if r.code != 0 || r.stdout != "ok\n" {
		t.Fatalf("ssh demo 'echo ok' = %q (exit %d, stderr %q); bastion: %s", r.stdout, r.code, r.stderr, errb.String())
	}
	if !strings.Contains(out.String(), "ssh -F") {
		t.Errorf("bastion dev did not print the commands to try:\n%s", out.String())
	}
	// The commands the banner prints work as printed.
	ran := false
	for _, line := range strings.Split(out.String(), "\n") {
		cmdLine, _, _ := strings.Cut(line, "#")
		fields := strings.Fields(cmdLine)
		if len(fields) < 3 || fields[1] != "sessions" || fields[2] != "list" {
			continue
		}
		ran = true
		printed, err := exec.Command(fields[0], fields[1:]...).CombinedOutput()
		if err != nil || !strings.Contains(string(printed), "echo ok") {
			t.Errorf("the banner's %q: %v\n%s", strings.TrimSpace(cmdLine), err, printed)
		}
	}
	if !ran {
		t.Errorf("the banner shows no sessions list command:\n%s", out.String())
	}
	// The CLI finds the data directory through $BASTION_DATA.
	list := exec.Command(bastionBin, "sessions", "list")
	list.Env = append(os.Environ(), "BASTION_DATA="+dir)
	listing, err := list.CombinedOutput()
	if err != nil || !strings.Contains(string(listing), "developer@bastion.dev") || !strings.Contains(string(listing), "echo ok") {
		t.Errorf("sessions list: %v\n%s", err, listing)
	}

	// The demo policy denies rm before it reaches the host, and holds touch
	// for the development reviewer, who approves it with the CLI.
	cfg := filepath.Join(dir, "ssh_config")
	if r := runCmd(t, "ssh", "-F", cfg, "-o", "BatchMode=yes", "demo", "rm notes.txt"); r.code != 252 ||
		!strings.HasPrefix(r.stderr, "bastion: denied: no-deletes:") {
		t.Errorf("rm on the demo host: %d %q", r.code, r.stderr)
	}
	r = runCmd(t, "ssh", "-F", cfg, "-o", "BatchMode=yes", "-o", "SetEnv=BASTION_WAIT=0", "demo", "touch reviewed")
	if r.code != 236 {
		t.Fatalf("touch: %d %q", r.code, r.stderr)
	}
	id := heldID(t, r.stderr)
	waitFor(t, "the Slack stand-in's message", func() bool { return strings.Contains(out.String(), "slack (stand-in)") })
	reviewer := filepath.Join(dir, "reviewer", "ssh_config")
	if a := runCmd(t, bastionBin, "approve", id, "--reason", "demo", "--ssh-config", reviewer); a.code != 0 {
		t.Fatalf("approve as the dev reviewer: %d %s", a.code, a.stderr)
	}
	if r := runCmd(t, "ssh", "-F", cfg, "-o", "BatchMode=yes", "-o", "SetEnv=BASTION_REQUEST="+id, "demo", "touch reviewed"); r.code != 0 {
		t.Errorf("approved touch: %d %q", r.code, r.stderr)
	}

	// Ctrl-C stops it cleanly.
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Errorf("bastion dev exited with %v after SIGINT; stderr:\n%s", err, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("bastion dev did not stop within 15s of SIGINT")
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
