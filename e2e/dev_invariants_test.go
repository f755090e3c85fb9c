package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// startDev runs `bastion dev` in dir and waits until it has printed its
// banner (every part is up then); the process is killed at cleanup.
func startDev(t *testing.T, dir string) (sshConfig string, stdout *syncBuffer) {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(bastionBin, "dev", "--data", dir, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--http", "127.0.0.1:0")
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("bastion dev stderr:\n%s", errb.String())
		}
	})
	waitPort(t, fmt.Sprintf("127.0.0.1:%d", port), cmd.Process)
	waitFile(t, filepath.Join(dir, "ssh_config"))
	waitFor(t, "the bastion dev banner", func() bool { return strings.Contains(out.String(), "bastion dev is running") })
	return filepath.Join(dir, "ssh_config"), &out
}

// TestDevShellCannotTouchEvidence: the demo shell is a visitor's shell. It
// must not read the CA keys (it could mint certificates) nor write the
// database (it could rewrite the audit trail), by shell or by sftp. The
// directories above the data directory are opened up so that only the
// data directory's own protection is tested.
func TestDevShellCannotTouchEvidence(t *testing.T) {
	requireTools(t, "ssh", "sftp")
	if os.Geteuid() != 0 {
		t.Skip("needs root: bastion dev switches demo sessions to an unprivileged user only when it can")
	}
	parent := t.TempDir()
	for _, d := range []string{filepath.Dir(parent), parent} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(parent, "dev")
	if err := os.Mkdir(dir, 0o755); err != nil { // dev tightens what it finds
		t.Fatal(err)
	}
	sshConfig, stdout := startDev(t, dir)
	if !strings.Contains(stdout.String(), "runs as bastion-demo") {
		t.Errorf("banner does not say who the demo shell runs as:\n%s", stdout)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("data directory mode %v (%v), want 0700", st.Mode(), err)
	}
	caBefore, err := os.ReadFile(filepath.Join(dir, "user_ca"))
	if err != nil {
		t.Fatal(err)
	}
	ssh := func(command string) result {
		return runCmd(t, "ssh", "-F", sshConfig, "-o", "BatchMode=yes", "demo", command)
	}
	if r := ssh("id -un; echo $HOME"); r.code != 0 || r.stdout != "bastion-demo\n/var/lib/bastion-demo\n" {
		t.Fatalf("demo shell identity: %q (exit %d, %s)", r.stdout, r.code, r.stderr)
	}
	for _, attack := range []string{
		"cat " + filepath.Join(dir, "user_ca"),
		"cat " + filepath.Join(dir, "target_ca"),
		"ls " + dir,
		"echo forged >> " + filepath.Join(dir, "bastion.db"),
		"truncate -s 0 " + filepath.Join(dir, "bastion.db"), // rm itself is denied by the dev policy
		"echo 'access: []' > " + filepath.Join(dir, "policy.yaml"),
	} {
		if r := ssh(attack); r.code == 0 || !strings.Contains(r.stderr, "Permission denied") {
			t.Errorf("%q from the demo shell: exit %d, stdout %q, stderr %q; want permission denied", attack, r.code, r.stdout, r.stderr)
		}
	}
	// The bastion's environment does not reach the session.
	if r := ssh("env"); strings.Contains(r.stdout, dir) || strings.Contains(r.stdout, "BASTION_") {
		t.Errorf("session environment leaks the bastion's:\n%s", r.stdout)
	}
	// sftp runs as the demo user too.
	batch := filepath.Join(t.TempDir(), "batch")
	got := filepath.Join(t.TempDir(), "stolen")
	os.WriteFile(batch, []byte("get "+filepath.Join(dir, "user_ca")+" "+got+"\n"), 0o600)
	if r := runCmd(t, "sftp", "-F", sshConfig, "-b", batch, "demo"); r.code == 0 {
		t.Errorf("sftp fetched the user CA key: %s", r.stdout)
	}
	if _, err := os.Stat(got); err == nil {
		t.Error("sftp wrote a copy of the user CA key")
	}
	caAfter, _ := os.ReadFile(filepath.Join(dir, "user_ca"))
	if !bytes.Equal(caBefore, caAfter) {
		t.Error("the user CA key changed")
	}
	// The evidence is intact: the CLI still reads the database.
	list := exec.Command(bastionBin, "sessions", "list", "--data", dir)
	if out, err := list.CombinedOutput(); err != nil || !strings.Contains(string(out), "id -un") {
		t.Errorf("sessions list after the attempts: %v\n%s", err, out)
	}
}
