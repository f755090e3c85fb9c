package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoTargetListsTargets: OpenSSH habits through the dev stack. `ssh
// bastion` (no target: the local user name is sent) and the `root@demo`
// mistake (the login typed where the target belongs) end with exit 241
// and a message giving the expected form and the reachable targets.
func TestNoTargetListsTargets(t *testing.T) {
	requireTools(t, "ssh")
	dir := filepath.Join(t.TempDir(), "dev")
	sshConfig, _ := startDev(t, dir)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"no-target", []string{"bastion"}}, // sends the local user name
		{"unknown-target", []string{"-l", "nosuchtarget", "bastion"}},
		{"login-where-the-target-goes", []string{"root@demo"}},
		{"malformed", []string{"-l", "a@b@c", "bastion"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"-F", sshConfig, "-o", "BatchMode=yes"}, c.args...)
			r := runCmd(t, "ssh", append(args, "true")...)
			if r.code != 241 && r.code != 242 {
				t.Errorf("exit %d, want 241 (unknown target) or 242 (malformed); stderr %q", r.code, r.stderr)
			}
			for _, want := range []string{"LOGIN@TARGET", "targets you may reach", "demo  logins: demo (default demo)"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
		})
	}
	// With a terminal the lines still start at the left margin.
	r := runCmd(t, "ssh", "-F", sshConfig, "-tt", "-o", "BatchMode=yes", "-l", "nosuchtarget", "bastion")
	if !strings.Contains(r.stdout+r.stderr, "\r\n  targets you may reach") {
		t.Errorf("pty refusal does not use CRLF:\n%q", r.stdout+r.stderr)
	}
}

// TestLoginHostBlocks: after `bastion login`, `ssh -F ssh_config TARGET`
// reaches the target as in the dev config, and `bastion targets` lists
// what the policy allows, from the certificate API's targets endpoint.
func TestLoginHostBlocks(t *testing.T) {
	o := newOIDCGateway(t)
	dir := o.login(t, []string{"BASTION_CLIENT_ID=ci", "BASTION_CLIENT_SECRET=ci-secret"}, "--client-credentials")
	cfg, err := os.ReadFile(filepath.Join(dir, "ssh_config"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "Host target\n") || !strings.Contains(string(cfg), "User root@target\n") {
		t.Fatalf("ssh_config has no Host block for target:\n%s", cfg)
	}
	r := runCmd(t, "ssh", "-F", filepath.Join(dir, "ssh_config"), "-o", "BatchMode=yes", "target", "echo via-host-block")
	if r.code != 0 || r.stdout != "via-host-block\n" {
		t.Fatalf("ssh target: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	out, err := exec.Command(bastionBin, "targets", "--dir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "robot@example.com may reach") || !strings.Contains(string(out), "target") {
		t.Errorf("bastion targets: %v\n%s", err, out)
	}
}
