package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
)

// Each refusal must give the client a clear message and a distinct exit
// status, write an audit event, and let nothing reach the target: the
// command (touching a marker file) must not run.
func TestRefusals(t *testing.T) {
	g := newGateway(t)
	markers := t.TempDir()
	otherCA := &certauth.Authority{Signer: writeKey(t, filepath.Join(t.TempDir(), "other_ca"))}
	past := func() time.Time { return time.Now().Add(-3 * time.Hour) }
	expiredCA := &certauth.Authority{Signer: g.userCA.Signer, Clock: past}

	cases := []struct {
		name       string
		client     client
		user       string
		sshArgs    []string
		code       int
		message    string // on the client's stderr
		auditType  string
		auditMatch string
	}{
		{
			name:   "unknown-ca",
			client: newClient(t, otherCA, certauth.UserRequest{Identity: "mallory@example.com", Groups: []string{"ops"}}),
			user:   "root@target", code: 255, message: "signed by an unknown CA",
			auditType: "auth.certificate", auditMatch: "unknown CA",
		},
		{
			name:   "expired-certificate",
			client: newClient(t, expiredCA, certauth.UserRequest{Identity: "late@example.com", Groups: []string{"ops"}, TTL: time.Hour}),
			user:   "root@target", code: 255, message: "certificate has expired",
			auditType: "auth.certificate", auditMatch: "expired",
		},
		{
			name:   "no-principals",
			client: noPrincipalClient(t, filepath.Join(g.dir, "user_ca")),
			user:   "root@target", code: 255, message: "certificate has no principals",
			auditType: "auth.certificate", auditMatch: "no principals",
		},
		{
			name: "wrong-source-address",
			client: newClient(t, g.userCA, certauth.UserRequest{Identity: "roamer@example.com", Groups: []string{"ops"},
				SourceAddress: "10.9.9.9/32"}),
			user: "root@target", code: 255, message: "source-address",
			auditType: "auth.certificate", auditMatch: "source-address",
		},
		{
			name:   "identity-not-allowed",
			client: newClient(t, g.userCA, certauth.UserRequest{Identity: "bob@example.com", Groups: []string{"guests"}}),
			user:   "root@target", code: 240, message: "access denied: bob@example.com may not log in as root on target",
			auditType: "session.denied", auditMatch: "no access rule allows root@target for bob@example.com",
		},
		{
			name: "unknown-target", client: g.alice, user: "root@nosuch", code: 241,
			message: `unknown target "nosuch"`, auditType: "session.denied", auditMatch: "nosuch",
		},
		{
			name: "malformed-username", client: g.alice, user: "root@db@target", code: 242,
			message: "bad user name", auditType: "session.denied", auditMatch: "malformed user name",
		},
		{
			name: "target-down", client: g.alice, user: "root@down", code: 243,
			message: "target unreachable", auditType: "upstream.unreachable", auditMatch: "connection refused",
		},
		{
			name: "host-key-changed", client: g.alice, user: "root@badkey", code: 244,
			message: "host key verification failed", auditType: "upstream.hostkey", auditMatch: "expected SHA256:",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := strings.Count(g.sshd.logText(t), "Accepted publickey")
			marker := filepath.Join(markers, c.name)
			r := g.ssh(t, c.client, c.user, "touch "+marker)
			if r.code != c.code {
				t.Errorf("exit = %d, want %d; stderr %q", r.code, c.code, r.stderr)
			}
			if !strings.Contains(r.stderr, c.message) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, c.message)
			}
			g.waitAudit(t, c.auditType, c.auditMatch)
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("the command ran on the target")
			}
			if c.code == 255 || c.code <= 242 {
				// Refused before the bastion dialled: the target saw no login.
				if after := strings.Count(g.sshd.logText(t), "Accepted publickey"); after != before {
					t.Errorf("target accepted %d logins during a refused session", after-before)
				}
			}
		})
	}
}

// noPrincipalClient has ssh-keygen sign a certificate with no principals,
// which OpenSSH would treat as valid for any user: the bastion must refuse it.
func noPrincipalClient(t *testing.T, caKeyFile string) client {
	t.Helper()
	requireTools(t, "ssh-keygen")
	key := filepath.Join(t.TempDir(), "id_ed25519")
	writeKey(t, key)
	r := runCmd(t, "ssh-keygen", "-q", "-s", caKeyFile, "-I", "nobody@example.com", "-V", "-1m:+1h",
		"-O", "extension:"+certauth.ExtIdentity+"=nobody@example.com", "-O", "extension:"+certauth.ExtGroups+"=ops",
		key+".pub")
	if r.code != 0 {
		t.Fatalf("ssh-keygen: %s", r.stderr)
	}
	return client{key: key, cert: key + "-cert.pub"}
}

// A bastion whose recording storage cannot be written refuses sessions
// rather than running them unrecorded.
func TestRecordingUnwritableRefuses(t *testing.T) {
	requireTools(t, "ssh")
	dir := t.TempDir()
	ca := writeKey(t, filepath.Join(dir, "target_ca"))
	d := startSSHD(t, ca.PublicKey())
	blocked := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(blocked, []byte("a file where the recording directory should be"), 0o600); err != nil {
		t.Fatal(err)
	}
	targets := fmt.Sprintf("  - name: target\n    address: %q\n    host_key: %q\n    login: root\n",
		d.addr, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(d.hostKey))))
	b := startBastion(t, dir, bastionOptions{targets: targets, policy: testPolicy, recordingDir: blocked})
	alice := newClient(t, b.userCA, certauth.UserRequest{Identity: "alice@example.com", Groups: []string{"ops"}})
	marker := filepath.Join(t.TempDir(), "ran")
	r := b.ssh(t, alice, "root@target", "touch "+marker)
	if r.code != 246 || !strings.Contains(r.stderr, "session recording unavailable; session refused") {
		t.Errorf("got exit %d stderr %q; want 246 and the recording message", r.code, r.stderr)
	}
	b.waitAudit(t, "recording.failed", "not a directory")
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran although it could not be recorded")
	}
	if strings.Contains(d.logText(t), "Accepted publickey") {
		t.Error("the bastion logged in to the target although the session could not be recorded")
	}
}
