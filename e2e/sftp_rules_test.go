package e2e

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
)

// newRulesGateway is newGatewayIn with file rules added to the policy.
func newRulesGateway(t *testing.T, files string) *gateway {
	t.Helper()
	requireTools(t, "ssh", "scp", "sftp")
	dir := t.TempDir()
	ca := writeKey(t, filepath.Join(dir, "target_ca"))
	d := startSSHD(t, ca.PublicKey())
	targets := fmt.Sprintf("  - name: target\n    address: %q\n    host_key: %q\n    login: root\n",
		d.addr, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(d.hostKey))))
	b := startBastion(t, dir, bastionOptions{targets: targets, policy: testPolicy + files})
	alice := newClient(t, b.userCA, certauth.UserRequest{Identity: "alice@example.com", Groups: []string{"ops"}})
	return &gateway{bastion: b, sshd: d, alice: alice}
}

// Real scp and sftp against a real sshd through the bastion, with file
// rules: a masked CSV comes back masked and the same size, a blocked file
// is refused with permission denied and audited (also through a symbolic
// link), a passed file is byte-identical, uploads work, and no planted
// value is at rest in the bastion's data directory.
func TestSFTPFileRules(t *testing.T) {
	remote := t.TempDir() // sshd runs as root on this machine: same file system
	write := func(name string, data []byte) {
		t.Helper()
		p := filepath.Join(remote, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plain := make([]byte, 3<<20)
	rand.Read(plain)
	write("phi/secret.csv", []byte(patientsCSV))
	write("reports/patients.csv", []byte(patientsCSV))
	write("reports/big.csv", bytes.Repeat([]byte("1,Jane Roe,123-45-6789\n"), 1000))
	write("plain.bin", plain)
	if err := os.Symlink(filepath.Join(remote, "phi/secret.csv"), filepath.Join(remote, "innocent.txt")); err != nil {
		t.Fatal(err)
	}
	g := newRulesGateway(t, fmt.Sprintf(`files:
  default: pass
  rules:
    - {path: %q, action: block}
    - {path: "**/*.csv", action: mask}
  max_masked_file: 16KiB
`, remote+"/phi/**"))

	local := t.TempDir()
	scpOpts := append(g.sshOpts(g.alice), "-P", fmt.Sprint(g.port))
	at := "root@target@127.0.0.1:"
	scp := func(from, to string) result {
		t.Helper()
		return runCmd(t, "scp", append(scpOpts, from, to)...)
	}
	sftp := func(batch string) result {
		t.Helper()
		file := filepath.Join(local, "batch")
		if err := os.WriteFile(file, []byte(batch), 0o600); err != nil {
			t.Fatal(err)
		}
		return runCmd(t, "sftp", append(g.sshOpts(g.alice), "-P", fmt.Sprint(g.port), "-b", file, "root@target@127.0.0.1")...)
	}
	checkMasked := func(t *testing.T, file string) {
		t.Helper()
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(patientsCSV) || !strings.Contains(string(got), "***-**-****") {
			t.Errorf("masked CSV (%d bytes, want %d):\n%s", len(got), len(patientsCSV), got)
		}
		for _, v := range planted {
			if bytes.Contains(got, []byte(v)) {
				t.Errorf("download holds %q", v)
			}
		}
		for _, keep := range []string{"ORD-2024-0001", "1.2.3-45", "078-05-1120"} {
			if !bytes.Contains(got, []byte(keep)) {
				t.Errorf("masked a non-identifier %q:\n%s", keep, got)
			}
		}
	}
	refused := func(t *testing.T, r result, local string) {
		t.Helper()
		if r.code == 0 {
			t.Errorf("download of a blocked file succeeded")
		}
		if !strings.Contains(r.stderr, "Permission denied") || !strings.Contains(r.stderr, "blocked by file policy") {
			t.Errorf("stderr = %q", r.stderr)
		}
		if b, err := os.ReadFile(local); err == nil && len(b) > 0 {
			t.Errorf("%s received %d bytes", local, len(b))
		}
	}

	t.Run("scp-masked", func(t *testing.T) {
		if r := scp(at+remote+"/reports/patients.csv", filepath.Join(local, "scp.csv")); r.code != 0 {
			t.Fatalf("scp: %d %s", r.code, r.stderr)
		}
		checkMasked(t, filepath.Join(local, "scp.csv"))
	})
	t.Run("sftp-get-masked", func(t *testing.T) {
		if r := sftp(fmt.Sprintf("get %s/reports/patients.csv %s/sftp.csv\n", remote, local)); r.code != 0 {
			t.Fatalf("sftp: %d %s", r.code, r.stderr)
		}
		checkMasked(t, filepath.Join(local, "sftp.csv"))
		g.waitAudit(t, "masking.applied", "sftp:"+remote+"/reports/patients.csv")
	})
	t.Run("scp-blocked", func(t *testing.T) {
		refused(t, scp(at+remote+"/phi/secret.csv", filepath.Join(local, "scp-secret.csv")), filepath.Join(local, "scp-secret.csv"))
		g.waitAudit(t, "sftp.blocked", remote+"/phi/secret.csv")
	})
	t.Run("sftp-get-blocked", func(t *testing.T) {
		refused(t, sftp(fmt.Sprintf("get %s/phi/secret.csv %s/sftp-secret.csv\n", remote, local)), filepath.Join(local, "sftp-secret.csv"))
	})
	t.Run("blocked-through-symlink", func(t *testing.T) {
		refused(t, scp(at+remote+"/innocent.txt", filepath.Join(local, "innocent.txt")), filepath.Join(local, "innocent.txt"))
	})
	t.Run("too-large-to-mask", func(t *testing.T) {
		r := scp(at+remote+"/reports/big.csv", filepath.Join(local, "big.csv"))
		if r.code == 0 || !strings.Contains(r.stderr, "too large to mask") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
		g.waitAudit(t, "sftp.too_large", remote+"/reports/big.csv")
	})
	t.Run("pass-identical", func(t *testing.T) {
		if r := scp(at+remote+"/plain.bin", filepath.Join(local, "plain.bin")); r.code != 0 {
			t.Fatalf("scp: %d %s", r.code, r.stderr)
		}
		if got, _ := os.ReadFile(filepath.Join(local, "plain.bin")); !bytes.Equal(got, plain) {
			t.Errorf("passed file differs (%d bytes)", len(got))
		}
	})
	t.Run("upload", func(t *testing.T) {
		src := filepath.Join(local, "up.bin")
		if err := os.WriteFile(src, plain, 0o600); err != nil {
			t.Fatal(err)
		}
		if r := scp(src, at+remote+"/scp-up.bin"); r.code != 0 {
			t.Fatalf("scp upload: %d %s", r.code, r.stderr)
		}
		if r := sftp(fmt.Sprintf("put %s %s/sftp-up.bin\nls -l %s\n", src, remote, remote)); r.code != 0 {
			t.Fatalf("sftp put: %d %s", r.code, r.stderr)
		} else if !strings.Contains(r.stdout, "sftp-up.bin") {
			t.Errorf("listing lacks the upload:\n%s", r.stdout)
		}
		for _, name := range []string{"scp-up.bin", "sftp-up.bin"} {
			if got, _ := os.ReadFile(filepath.Join(remote, name)); !bytes.Equal(got, plain) {
				t.Errorf("%s differs at the target", name)
			}
		}
		// Writing into a blocked directory is refused too.
		if r := scp(src, at+remote+"/phi/dropped.bin"); r.code == 0 {
			t.Error("upload into a blocked directory succeeded")
		}
		if _, err := os.Stat(filepath.Join(remote, "phi/dropped.bin")); err == nil {
			t.Error("file created in a blocked directory")
		}
	})

	// Each operation is a line of the session's recording, with what the
	// rules did to it.
	g.waitAudit(t, "sftp.open", remote+"/sftp-up.bin")
	s := g.waitSession(t, func(s sessionRow) bool {
		b, _ := os.ReadFile(s.Recording)
		return s.Kind == "sftp" && strings.Contains(string(b), "sftp-up.bin")
	})
	rec, _ := os.ReadFile(s.Recording)
	if !strings.Contains(string(rec), "sftp open (write,create,truncate) "+remote+"/sftp-up.bin") {
		t.Errorf("recording lacks the upload:\n%s", rec)
	}

	g.assertNothingAtRest(t, planted)
}
