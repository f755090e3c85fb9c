package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/certauth/devoidc"
)

// oidcGateway is a bastion whose certificate API trusts a real OpenID
// provider (zitadel's op library, in-process), in front of a real sshd.
type oidcGateway struct {
	*gateway
	provider *devoidc.Server
	apiURL   string
	caPEM    string
}

func newOIDCGateway(t *testing.T) *oidcGateway {
	t.Helper()
	requireTools(t, "ssh", "ssh-keygen")
	provider, err := devoidc.Start("127.0.0.1:0", devoidc.Config{
		Users: []devoidc.User{
			{Subject: "carol", Email: "carol@example.com", EmailVerified: true, Groups: []string{"ops"}},
			{Subject: "robot", Email: "robot@example.com", EmailVerified: true, Groups: []string{"ops"}},
		},
		Clients: []devoidc.Client{
			{ID: "bastion"},
			{ID: "ci", Secret: "ci-secret", ServiceUser: "robot", Audience: []string{"bastion"}},
		},
		PollInterval: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { provider.Close() })
	dir := t.TempDir()
	certFile, keyFile := writeTLSCert(t, dir)
	httpPort := freePort(t)
	extra := fmt.Sprintf(`http:
  listen: 127.0.0.1:%d
  tls_cert: %s
  tls_key: %s
issuers:
  - url: %s
    audience: bastion
    max_ttl: 1h
`, httpPort, certFile, keyFile, provider.Issuer)
	g := newGatewayIn(t, dir, extra)
	waitPort(t, fmt.Sprintf("127.0.0.1:%d", httpPort), nil)
	return &oidcGateway{gateway: g, provider: provider, apiURL: fmt.Sprintf("https://127.0.0.1:%d", httpPort), caPEM: certFile}
}

// login runs `bastion login` with extra flags into a fresh directory.
func (o *oidcGateway) login(t *testing.T, env []string, extra ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "login")
	args := append([]string{"login", "--server", o.apiURL, "--issuer", o.provider.Issuer, "--ca-cert", o.caPEM,
		"--dir", dir, "--no-agent"}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bastionBin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bastion login: %v\n%s", err, out)
	}
	return dir
}

func (o *oidcGateway) sshVia(t *testing.T, loginDir, user string, args ...string) result {
	t.Helper()
	all := append([]string{"-F", filepath.Join(loginDir, "ssh_config"), "-o", "BatchMode=yes", user + "@bastion"}, args...)
	return runCmd(t, "ssh", all...)
}

// A person logs in with the device flow; the certificate it yields opens a
// session through the bastion to a real sshd, under the person's name.
func TestLoginDeviceFlowThenSSH(t *testing.T) {
	o := newOIDCGateway(t)
	approved := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := o.provider.ApproveNext(ctx, "carol")
		approved <- err
	}()
	dir := o.login(t, nil)
	if err := <-approved; err != nil {
		t.Fatal(err)
	}
	kl := runCmd(t, "ssh-keygen", "-L", "-f", filepath.Join(dir, "id_ed25519-cert.pub"))
	for _, want := range []string{`Key ID: "carol@example.com serial=`, "carol\n", "permit-pty", "groups@bastion"} {
		if !strings.Contains(kl.stdout, want) {
			t.Errorf("ssh-keygen -L lacks %q:\n%s", want, kl.stdout)
		}
	}
	r := o.sshVia(t, dir, "root@target", "echo via-device-flow")
	if r.code != 0 || r.stdout != "via-device-flow\n" {
		t.Fatalf("ssh: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	s := o.waitSession(t, func(s sessionRow) bool { return s.Command == "echo via-device-flow" })
	if s.Identity != "carol@example.com" {
		t.Errorf("session identity = %q", s.Identity)
	}
	if !strings.Contains(o.sshd.logText(t), "identity=carol@example.com") {
		t.Error("the target's log does not name carol")
	}
	o.waitAudit(t, "cert.issue", "carol@example.com")
}

// An agent exchanges a workload token (a file) with no prompt; revoking its
// identity ends its live session and refuses the next login.
func TestAgentTokenAndRevocation(t *testing.T) {
	o := newOIDCGateway(t)
	tok, err := o.provider.ServiceToken(context.Background(), "ci")
	if err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := o.login(t, nil, "--token-file", tokFile, "--json")
	if r := o.sshVia(t, dir, "root@target", "echo agent-ok"); r.code != 0 || r.stdout != "agent-ok\n" {
		t.Fatalf("ssh: exit %d %q %q", r.code, r.stdout, r.stderr)
	}

	// A long-running session, then the identity is revoked.
	args := []string{"-F", filepath.Join(dir, "ssh_config"), "-o", "BatchMode=yes", "root@target@bastion", "echo running; sleep 60"}
	cmd := exec.Command("ssh", args...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "running") {
		if time.Now().After(deadline) {
			t.Fatalf("session did not start: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	o.cli(t, "ca", "revoke", "--identity", "robot@example.com")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 249 || !strings.Contains(out.String(), "certificate revoked") {
			t.Errorf("revoked session ended with %v: %s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the revoked identity's session kept running")
	}
	r := o.sshVia(t, dir, "root@target", "echo again")
	if r.code != 255 || !strings.Contains(r.stderr, "revoked") {
		t.Errorf("login after revocation: exit %d %q", r.code, r.stderr)
	}
	o.waitAudit(t, "session.revoked", "revoked")
}

// writeTLSCert writes a self-signed certificate for 127.0.0.1.
func writeTLSCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bastion e2e"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.pem"), filepath.Join(dir, "tls.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certFile, keyFile
}
