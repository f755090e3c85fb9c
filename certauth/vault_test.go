package certauth

import (
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestVaultSignUser(t *testing.T) {
	s := newVaultStandIn(t, standInOptions{})
	v := standInSigner(t, s, VaultConfig{})
	if !keysEqual(v.PublicKey(), s.ca.PublicKey()) {
		t.Fatalf("PublicKey = %s, want the mount's CA %s", ssh.FingerprintSHA256(v.PublicKey()), ssh.FingerprintSHA256(s.ca.PublicKey()))
	}
	user := newSigner(t).PublicKey()
	cert, err := v.SignUser(UserRequest{PublicKey: user, Identity: "alice@example.com", Groups: []string{"ops", "dba"},
		TTL: 10 * time.Minute, SourceAddress: "192.0.2.0/24"})
	if err != nil {
		t.Fatal(err)
	}

	got := s.requests()
	if len(got) != 1 {
		t.Fatalf("stand-in received %d sign requests, want 1", len(got))
	}
	req := got[0]
	if _, err := strconv.ParseInt(req.Extensions[ExtIssuedAt], 10, 64); err != nil {
		t.Errorf("no issue time sent: %v", req.Extensions)
	}
	delete(req.Extensions, ExtIssuedAt)
	want := vaultSignRequest{
		PublicKey:       strings.TrimSpace(string(ssh.MarshalAuthorizedKey(user))),
		ValidPrincipals: "alice",
		TTL:             "600s",
		CertType:        "user",
		KeyID:           "alice@example.com",
		Extensions: map[string]string{"permit-X11-forwarding": "", "permit-agent-forwarding": "", "permit-port-forwarding": "",
			"permit-pty": "", "permit-user-rc": "", ExtIdentity: "alice@example.com", ExtGroups: "ops,dba"},
		CriticalOptions: map[string]string{"source-address": "192.0.2.0/24"},
		Token:           "s.standin-token",
	}
	if !reflect.DeepEqual(req, want) {
		t.Errorf("request\n got %+v\nwant %+v", req, want)
	}

	id, err := (&Checker{Authorities: []ssh.PublicKey{v.PublicKey()}}).Check(cert, addr)
	if err != nil {
		t.Fatalf("Checker refused the certificate: %v", err)
	}
	if id.Name != "alice@example.com" || strings.Join(id.Groups, ",") != "ops,dba" || id.Principals[0] != "alice" {
		t.Errorf("identity = %+v", id)
	}
}

func TestVaultSignUpstream(t *testing.T) {
	s := newVaultStandIn(t, standInOptions{})
	v := standInSigner(t, s, VaultConfig{})
	key := newSigner(t)
	cert, err := v.SignUpstream(UpstreamRequest{PublicKey: key.PublicKey(), Login: "postgres",
		Identity: "alice@example.com", SessionID: "s-1"})
	if err != nil {
		t.Fatal(err)
	}
	req := s.requests()[0]
	if req.ValidPrincipals != "postgres" || req.TTL != "300s" || req.KeyID != "bastion identity=alice@example.com session=s-1" ||
		len(req.Extensions) != 3 || req.CriticalOptions != nil {
		t.Errorf("request = %+v", req)
	}
	// What a target's sshd does with it: a CertChecker trusting the CA.
	checker := ssh.CertChecker{IsUserAuthority: func(k ssh.PublicKey) bool { return keysEqual(k, s.ca.PublicKey()) }}
	if err := checker.CheckCert("postgres", cert); err != nil {
		t.Errorf("target would refuse: %v", err)
	}
}

// The token file is read for every call: a rotated token is used at once.
func TestVaultTokenRotation(t *testing.T) {
	s := newVaultStandIn(t, standInOptions{})
	tokenFile := filepath.Join(t.TempDir(), "vault-token")
	writeToken(t, tokenFile, "s.first")
	s.setToken("s.first")
	v := standInSigner(t, s, VaultConfig{TokenFile: tokenFile})
	sign := func() error {
		_, err := v.SignUser(UserRequest{PublicKey: newSigner(t).PublicKey(), Identity: "alice@example.com"})
		return err
	}
	if err := sign(); err != nil {
		t.Fatal(err)
	}
	s.setToken("s.second") // Vault revoked the first token
	if err := sign(); !errors.Is(err, ErrSignerRefused) {
		t.Fatalf("with the old token: err = %v, want ErrSignerRefused", err)
	}
	writeToken(t, tokenFile, "s.second")
	if err := sign(); err != nil {
		t.Fatalf("with the rotated token: %v", err)
	}
	var tokens []string
	for _, r := range s.requests() {
		tokens = append(tokens, r.Token)
	}
	if got := strings.Join(tokens, " "); got != "s.first s.first s.second" {
		t.Errorf("X-Vault-Token headers = %s", got)
	}
}

// Whatever Vault answers, only the requested certificate is handed out.
func TestVaultRefusesBadAnswers(t *testing.T) {
	other, mountCA := newSigner(t), newSigner(t)
	cases := []struct {
		name    string
		opts    standInOptions
		timeout time.Duration
		want    error
		text    string
	}{
		{name: "wrong-key-certified", opts: standInOptions{tamper: func(c *ssh.Certificate) { c.Key = other.PublicKey() }},
			want: ErrSignerMismatch, text: "certifies key " + ssh.FingerprintSHA256(other.PublicKey())},
		{name: "host-certificate", opts: standInOptions{tamper: func(c *ssh.Certificate) { c.CertType = ssh.HostCert }},
			want: ErrSignerMismatch, text: "a host certificate, not a user certificate"},
		{name: "longer-validity", opts: standInOptions{tamper: func(c *ssh.Certificate) { c.ValidBefore += 3600 }},
			want: ErrSignerMismatch, text: "longer than the requested 10m0s"},
		{name: "no-expiry", opts: standInOptions{tamper: func(c *ssh.Certificate) { c.ValidBefore = ssh.CertTimeInfinity }},
			want: ErrSignerMismatch, text: "valid until forever"},
		{name: "not-yet-valid", opts: standInOptions{tamper: func(c *ssh.Certificate) { c.ValidAfter += 3600 }},
			want: ErrSignerMismatch, text: "not valid before"},
		{name: "extra-principal", opts: standInOptions{tamper: func(c *ssh.Certificate) { c.ValidPrincipals = append(c.ValidPrincipals, "root") }},
			want: ErrSignerMismatch, text: `principals ["alice" "root"], requested ["alice"]`},
		{name: "other-key-id", opts: standInOptions{tamper: func(c *ssh.Certificate) { c.KeyId = "vault-root-abc" }},
			want: ErrSignerMismatch, text: `KeyId "vault-root-abc"`},
		{name: "extra-extension", opts: standInOptions{tamper: func(c *ssh.Certificate) { c.Extensions["no-touch-required"] = "" }},
			want: ErrSignerMismatch, text: "extensions"},
		{name: "dropped-identity", opts: standInOptions{tamper: func(c *ssh.Certificate) { delete(c.Extensions, ExtIdentity) }},
			want: ErrSignerMismatch, text: "extensions"},
		{name: "dropped-source-address", opts: standInOptions{tamper: func(c *ssh.Certificate) { c.CriticalOptions = nil }},
			want: ErrSignerMismatch, text: "critical options"},
		{name: "other-ca", opts: standInOptions{signWith: other},
			want: ErrSignerMismatch, text: "signed by CA " + ssh.FingerprintSHA256(other.PublicKey())},
		{name: "forged-signature", opts: standInOptions{ca: mountCA, signWith: other, afterSign: func(c *ssh.Certificate) {
			c.SignatureKey = mountCA.PublicKey() // another key's signature, claimed to be the CA's
		}}, want: ErrSignerMismatch, text: "signature"},
		{name: "not-a-certificate", opts: standInOptions{answer: func(w http.ResponseWriter, r *http.Request) {
			vaultData(w, map[string]any{"signed_key": string(ssh.MarshalAuthorizedKey(other.PublicKey()))})
		}}, want: ErrSignerMismatch, text: "not a certificate"},
		{name: "garbage", opts: standInOptions{answer: func(w http.ResponseWriter, r *http.Request) {
			vaultData(w, map[string]any{"signed_key": "ssh-ed25519-cert-v01@openssh.com AAAAnonsense"})
		}}, want: ErrSignerMismatch, text: "signed_key"},
		{name: "no-signed-key", opts: standInOptions{answer: func(w http.ResponseWriter, r *http.Request) {
			vaultData(w, map[string]any{"serial_number": "1"})
		}}, want: ErrSignerMismatch, text: "no signed_key"},
		{name: "permission-denied", opts: standInOptions{answer: func(w http.ResponseWriter, r *http.Request) {
			vaultError(w, http.StatusForbidden, "1 error occurred:\n\t* permission denied\n\n")
		}}, want: ErrSignerRefused, text: `HTTP 403: "1 error occurred:\n\t* permission denied\n\n"`},
		{name: "timeout", timeout: 200 * time.Millisecond, opts: standInOptions{answer: func(w http.ResponseWriter, r *http.Request) {
			// Reading the body lets the server notice the client hang up.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}}, want: ErrSignerUnavailable, text: "no answer within 200ms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkRefusal(t, newVaultStandIn(t, c.opts), c.timeout, c.want, c.text)
		})
	}
}

func checkRefusal(t *testing.T, s *vaultStandIn, timeout time.Duration, want error, text string) {
	t.Helper()
	v := standInSigner(t, s, VaultConfig{Timeout: timeout})
	start := time.Now()
	cert, err := v.SignUser(UserRequest{PublicKey: newSigner(t).PublicKey(), Identity: "alice@example.com",
		TTL: 10 * time.Minute, SourceAddress: "192.0.2.0/24"})
	if cert != nil || !errors.Is(err, want) {
		t.Fatalf("cert %v, err = %v; want %v", cert != nil, err, want)
	}
	t.Log(err)
	if !strings.Contains(err.Error(), text) {
		t.Errorf("err = %q, want it to say %q", err, text)
	}
	if timeout > 0 && time.Since(start) > timeout+2*time.Second {
		t.Errorf("took %s with a %s timeout", time.Since(start), timeout)
	}
}

// Requests that can never be granted are refused before Vault is asked.
func TestVaultChecksRequestsFirst(t *testing.T) {
	s := newVaultStandIn(t, standInOptions{})
	v := standInSigner(t, s, VaultConfig{UserRole: standInRole})
	if _, err := v.SignUser(UserRequest{PublicKey: newSigner(t).PublicKey(), Identity: "alice@example.com", TTL: 48 * time.Hour}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("ttl 48h: err = %v, want ErrBadRequest", err)
	}
	if _, err := v.SignUser(UserRequest{PublicKey: newSigner(t).PublicKey(), Identity: "alice example"}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("bad identity: err = %v, want ErrBadRequest", err)
	}
	_, err := v.SignUpstream(UpstreamRequest{PublicKey: newSigner(t).PublicKey(), Login: "l", Identity: "i", SessionID: "s"})
	if err == nil || !strings.Contains(err.Error(), "no role for upstream certificates") {
		t.Errorf("no upstream role: err = %v", err)
	}
	if n := len(s.requests()); n != 0 {
		t.Errorf("stand-in received %d sign requests, want 0", n)
	}
}

// Anything wrong with Vault stops the start, rather than the first login.
func TestNewVaultSignerFails(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cases := []struct {
		name string
		cfg  func(s *vaultStandIn) VaultConfig
		opts standInOptions
		want error
		text string
	}{
		{name: "unreachable", cfg: func(s *vaultStandIn) VaultConfig {
			return VaultConfig{Address: closed.URL, Token: "t"}
		}, want: ErrSignerUnavailable, text: "connection refused"},
		{name: "unknown-mount", cfg: func(s *vaultStandIn) VaultConfig {
			return VaultConfig{Address: s.srv.URL, Mount: "nope", Token: "t"}
		}, want: ErrSignerRefused, text: "nope/public_key: HTTP 403"},
		{name: "not-a-key", opts: standInOptions{publicKey: "<html>maintenance</html>"}, cfg: func(s *vaultStandIn) VaultConfig {
			return VaultConfig{Address: s.srv.URL, Token: "t"}
		}, want: ErrSignerMismatch, text: "not an SSH public key"},
		{name: "no-token-file", cfg: func(s *vaultStandIn) VaultConfig {
			return VaultConfig{Address: s.srv.URL, TokenFile: filepath.Join(t.TempDir(), "missing")}
		}, want: ErrSignerUnavailable, text: "vault token"},
		{name: "no-token", cfg: func(s *vaultStandIn) VaultConfig {
			return VaultConfig{Address: s.srv.URL}
		}, want: ErrSignerUnavailable, text: "no vault token"},
		{name: "untrusted-tls", opts: standInOptions{tls: true}, cfg: func(s *vaultStandIn) VaultConfig {
			return VaultConfig{Address: s.srv.URL, Token: "t"}
		}, want: ErrSignerUnavailable, text: "certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newVaultStandIn(t, c.opts)
			v, err := NewVaultSigner(t.Context(), c.cfg(s))
			if v != nil || !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("err = %q, want it to say %q", err, c.text)
			}
		})
	}
}

// ca_cert makes a Vault with a private CA reachable over TLS.
func TestVaultCACert(t *testing.T) {
	s := newVaultStandIn(t, standInOptions{tls: true})
	caFile := filepath.Join(t.TempDir(), "vault-ca.pem")
	block := &pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw}
	if err := os.WriteFile(caFile, pem.EncodeToMemory(block), 0o644); err != nil {
		t.Fatal(err)
	}
	v := standInSigner(t, s, VaultConfig{CACert: caFile})
	if _, err := v.SignUser(UserRequest{PublicKey: newSigner(t).PublicKey(), Identity: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
}

func keysEqual(a, b ssh.PublicKey) bool { return string(a.Marshal()) == string(b.Marshal()) }
