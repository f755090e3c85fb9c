package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A user with a shell on the target can make its sftp subsystem run a
// command: sshd starts the subsystem through the user's shell (bash -c
// /usr/lib/openssh/sftp-server), bash reads the user's ~/.bashrc for an ssh
// session, and a ~/.bashrc that checks $BASH_EXECUTION_STRING can eval a
// variable the client sent with SendEnv. Through the bastion, what comes
// back is not SFTP: the session ends, the audit log says so, and the
// recording shows what was seen.
func TestSFTPSubsystemCannotSmuggle(t *testing.T) {
	home := t.TempDir()
	bashrc := `if [ "$BASH_EXECUTION_STRING" = /usr/lib/openssh/sftp-server ] && [ -n "$LC_SMUGGLE" ]; then
  eval "$LC_SMUGGLE"
  exit 0
fi
`
	if err := os.WriteFile(filepath.Join(home, ".bashrc"), []byte(bashrc), 0o644); err != nil {
		t.Fatal(err)
	}
	policy := strings.Replace(testPolicy, "env_allow: [LANG]", `env_allow: [LANG, "LC_*"]`, 1)
	// The target: sftp-server run through the user's shell, LC_* accepted,
	// and the login's home (where bash finds ~/.bashrc) in a test directory.
	g := newGatewayOpts(t, t.TempDir(), bastionOptions{policy: policy,
		sshdConfig: "Subsystem sftp /usr/lib/openssh/sftp-server\nAcceptEnv LANG LC_*\nSetEnv HOME=" + home + "\n"})

	args := append(g.sshOpts(g.alice), "-o", "SendEnv=LC_SMUGGLE", "-s", "-p", fmt.Sprint(g.port), "root@target@127.0.0.1", "sftp")
	cmd := exec.Command("ssh", args...)
	cmd.Env = append(os.Environ(), "LC_SMUGGLE=echo SMUGGLED-$((6*7)); id")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader("")
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 251 || strings.Contains(out.String(), "SMUGGLED-42") || !strings.Contains(errb.String(), "is not SFTP") {
		t.Errorf("smuggling: exit %d stdout %q stderr %q", code, out.String(), errb.String())
	}
	ev := g.waitAudit(t, "sftp.malformed", "SMUGGLED-42")
	if ev.Detail["from"] != "target" {
		t.Errorf("event = %+v", ev)
	}
	s := g.waitSession(t, func(s sessionRow) bool { return s.Kind == "sftp" })
	rec, err := os.ReadFile(s.Recording)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rec), "SMUGGLED-42") || !strings.Contains(string(rec), "not SFTP") {
		t.Errorf("recording does not show what was seen:\n%s", rec)
	}
	if s.ExitStatus == nil || *s.ExitStatus != 251 {
		t.Errorf("session row exit status = %v", s.ExitStatus)
	}

	// Nor can the client send anything but SFTP on the subsystem channel.
	args = append(g.sshOpts(g.alice), "-s", "-p", fmt.Sprint(g.port), "root@target@127.0.0.1", "sftp")
	if r := runCmdInput(t, "id; echo CLIENT-SIDE\n", "ssh", args...); r.code != 251 {
		t.Errorf("text from the client: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	g.waitAudit(t, "sftp.malformed", "CLIENT-SIDE")

	// The real sftp still works against this target when nothing is smuggled.
	batch := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(batch, []byte("pwd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sftpArgs := append(g.sshOpts(g.alice), "-b", batch, "-P", fmt.Sprint(g.port), "root@target@127.0.0.1")
	if r := runCmd(t, "sftp", sftpArgs...); r.code != 0 || !strings.Contains(r.stdout, "Remote working directory") {
		t.Errorf("plain sftp: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
}
