package e2e

import (
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
