package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An sftp server named by path (`sftp -s /usr/lib/openssh/sftp-server`,
// sent as an exec request) or as internal-sftp is served as the sftp
// subsystem: the file rules and the sftp.* auditing apply as they do to
// plain sftp, and a server command with shell syntax after it runs nothing.
func TestSFTPServerByExec(t *testing.T) {
	remote := t.TempDir()
	if err := os.MkdirAll(filepath.Join(remote, "phi"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(remote, "phi/secret.txt"), []byte("ssn 123-45-6789\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(remote, "open.txt"), []byte("nothing here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := newRulesGateway(t, fmt.Sprintf(`files:
  default: pass
  rules:
    - {path: %q, action: block}
`, remote+"/phi/**"))
	local := t.TempDir()
	sftp := func(server, batch string) result {
		t.Helper()
		file := filepath.Join(local, "batch")
		if err := os.WriteFile(file, []byte(batch), 0o600); err != nil {
			t.Fatal(err)
		}
		return runCmd(t, "sftp", append(g.sshOpts(g.alice), "-P", fmt.Sprint(g.port), "-s", server, "-b", file, "root@target@127.0.0.1")...)
	}

	for i, server := range []string{"/usr/lib/openssh/sftp-server", "internal-sftp", "sftp-server -l INFO"} {
		t.Run(server, func(t *testing.T) {
			dst := filepath.Join(local, fmt.Sprintf("secret%d.txt", i))
			r := sftp(server, fmt.Sprintf("get %s/phi/secret.txt %s\n", remote, dst))
			if r.code == 0 {
				t.Errorf("download of a blocked file through %s succeeded", server)
			}
			if b, err := os.ReadFile(dst); err == nil && len(b) > 0 {
				t.Errorf("received %q", b)
			}
			open := filepath.Join(local, fmt.Sprintf("open%d.txt", i))
			if r := sftp(server, fmt.Sprintf("get %s/open.txt %s\n", remote, open)); r.code != 0 {
				t.Fatalf("sftp -s %s: %d %s", server, r.code, r.stderr)
			}
			if b, _ := os.ReadFile(open); string(b) != "nothing here\n" {
				t.Errorf("passed file = %q", b)
			}
		})
	}
	g.waitAudit(t, "sftp.blocked", remote+"/phi/secret.txt")
	g.waitAudit(t, "sftp.open", remote+"/open.txt")

	// Shell syntax or a wrapper around the server's name is refused, and
	// nothing runs.
	marker := filepath.Join(remote, "ran")
	for _, cmd := range []string{
		"/usr/lib/openssh/sftp-server; touch " + marker,
		"sftp-server $(touch " + marker + ")",
		"internal-sftp\ntouch " + marker,
		"'/usr/lib/openssh/sftp-server'",
		"touch " + marker + " && exec /usr/lib/openssh/sftp-server",
		"env A=1 sftp-server",
	} {
		r := g.ssh(t, g.alice, "root@target", cmd)
		if r.code == 0 || !strings.Contains(r.stderr, "an sftp server runs only as the command itself") {
			t.Errorf("%q: exit %d, stderr %q", cmd, r.code, r.stderr)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a command after the sftp server's name ran on the target")
	}
	g.waitAudit(t, "session.denied", "sftp server runs only as the command itself")
}

// Without file rules, an sftp server started by path is the audited
// pass-through: each file's transfer leaves its size and SHA-256.
func TestSFTPServerByExecAudited(t *testing.T) {
	requireTools(t, "sftp")
	g := newGateway(t)
	remote, local := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(remote, "f.txt"), []byte("data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	batch := filepath.Join(local, "batch")
	if err := os.WriteFile(batch, []byte("get "+remote+"/f.txt "+local+"/f.txt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, "sftp", append(g.sshOpts(g.alice), "-P", fmt.Sprint(g.port), "-s", "/usr/lib/openssh/sftp-server",
		"-b", batch, "root@target@127.0.0.1")...)
	if r.code != 0 {
		t.Fatalf("sftp -s: %d %s", r.code, r.stderr)
	}
	g.waitAudit(t, "sftp.transfer", remote+"/f.txt")
}

// scp's legacy protocol (scp -O) runs `scp -f`/`scp -t` as an exec: the
// command rules judge it like any other command.
func TestLegacySCPIsJudged(t *testing.T) {
	requireTools(t, "scp")
	g := newGatewayWith(t, t.TempDir(), "", `access:
  - name: staff
    groups: [ops]
    targets: ["*"]
    logins: [root]
commands:
  default: allow
  rules:
    - name: no-scp
      programs: [scp]
      action: deny
`)
	remote := t.TempDir()
	if err := os.WriteFile(filepath.Join(remote, "f.txt"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	opts := append(g.sshOpts(g.alice), "-O", "-P", fmt.Sprint(g.port))
	down := runCmd(t, "scp", append(opts, "root@target@127.0.0.1:"+remote+"/f.txt", local+"/f.txt")...)
	if down.code == 0 {
		t.Error("scp -O download succeeded under a rule denying scp")
	}
	if _, err := os.Stat(local + "/f.txt"); err == nil {
		t.Error("the file was downloaded")
	}
	g.waitAudit(t, "command.denied", "no-scp")
	src := filepath.Join(local, "up.txt")
	if err := os.WriteFile(src, []byte("y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCmd(t, "scp", append(opts, src, "root@target@127.0.0.1:"+remote+"/up.txt")...); r.code == 0 {
		t.Error("scp -O upload succeeded under a rule denying scp")
	}
	if _, err := os.Stat(filepath.Join(remote, "up.txt")); err == nil {
		t.Error("the file was uploaded")
	}
}
