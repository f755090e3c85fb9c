package certauth

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// vaultStandIn is a stand-in for Vault, not Vault itself: an httptest
// server that follows Vault's documented HTTP API for the SSH secrets
// engine (https://developer.hashicorp.com/vault/api-docs/secret/ssh) as
// far as VaultSigner uses it:
//
//	POST /v1/MOUNT/sign/ROLE   JSON public_key, valid_principals, ttl, cert_type,
//	                           key_id, extensions, critical_options; X-Vault-Token
//	                           → {"data":{"serial_number":"…","signed_key":"…-cert-v01@openssh.com AAAA…"}}
//	GET  /v1/MOUNT/public_key  the CA public key as plain text, unauthenticated
//
// PUT is accepted as POST, as Vault does. Errors are Vault's
// {"errors":[…]} with its status codes. It signs with a real local CA key,
// so its certificates verify with Checker, and it records the requests it
// received. standInOptions make it misbehave.
type vaultStandIn struct {
	srv  *httptest.Server
	ca   ssh.Signer
	opts standInOptions

	mu    sync.Mutex
	token string             // the token it accepts; guarded by mu
	got   []vaultSignRequest // guarded by mu
}

const (
	standInMount = "ssh"
	standInRole  = "bastion-user"
)

// standInOptions are fixed before the server starts.
type standInOptions struct {
	tls bool
	// ca is the mount's CA key; if nil, a fresh one.
	ca ssh.Signer
	// tamper alters each certificate before it is signed.
	tamper func(*ssh.Certificate)
	// signWith signs instead of the stand-in's CA key.
	signWith ssh.Signer
	// afterSign alters each certificate after it is signed.
	afterSign func(*ssh.Certificate)
	// answer replaces the sign endpoint.
	answer http.HandlerFunc
	// publicKey, if set, is served by MOUNT/public_key instead of the CA key.
	publicKey string
}

// vaultSignRequest is the body of POST MOUNT/sign/ROLE, plus the token.
type vaultSignRequest struct {
	PublicKey       string            `json:"public_key"`
	ValidPrincipals string            `json:"valid_principals"`
	TTL             string            `json:"ttl"`
	CertType        string            `json:"cert_type"`
	KeyID           string            `json:"key_id"`
	Extensions      map[string]string `json:"extensions"`
	CriticalOptions map[string]string `json:"critical_options"` // nil when absent
	Token           string            `json:"-"`
}

func newVaultStandIn(t *testing.T, opts standInOptions) *vaultStandIn {
	t.Helper()
	s := &vaultStandIn{ca: opts.ca, opts: opts, token: "s.standin-token"}
	if s.ca == nil {
		s.ca = newSigner(t)
	}
	if opts.tls {
		s.srv = httptest.NewTLSServer(s)
	} else {
		s.srv = httptest.NewServer(s)
	}
	t.Cleanup(s.srv.Close)
	return s
}

func (s *vaultStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v1/" + standInMount + "/public_key":
		if r.Method != http.MethodGet {
			vaultError(w, http.StatusMethodNotAllowed, "unsupported operation")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if s.opts.publicKey != "" {
			fmt.Fprint(w, s.opts.publicKey)
			return
		}
		_, _ = w.Write(ssh.MarshalAuthorizedKey(s.ca.PublicKey()))
	case "/v1/" + standInMount + "/sign/" + standInRole:
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			vaultError(w, http.StatusMethodNotAllowed, "unsupported operation")
			return
		}
		if s.opts.answer != nil {
			s.opts.answer(w, r)
			return
		}
		s.sign(w, r)
	default:
		vaultError(w, http.StatusNotFound)
	}
}

func (s *vaultStandIn) sign(w http.ResponseWriter, r *http.Request) {
	var req vaultSignRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		vaultError(w, http.StatusBadRequest, err.Error())
		return
	}
	req.Token = r.Header.Get("X-Vault-Token")
	s.mu.Lock()
	s.got = append(s.got, req)
	token := s.token
	s.mu.Unlock()
	if req.Token != token {
		vaultError(w, http.StatusForbidden, "permission denied")
		return
	}
	if req.CertType != "user" {
		vaultError(w, http.StatusBadRequest, "cert_type must be user")
		return
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(req.PublicKey))
	if err != nil {
		vaultError(w, http.StatusBadRequest, "failed to parse public_key as SSH key")
		return
	}
	ttl, err := time.ParseDuration(req.TTL)
	if err != nil {
		vaultError(w, http.StatusBadRequest, "invalid ttl")
		return
	}
	var serial [8]byte
	_, _ = rand.Read(serial[:])
	now := time.Now()
	cert := &ssh.Certificate{
		Key:             pub,
		Serial:          binary.BigEndian.Uint64(serial[:]),
		CertType:        ssh.UserCert,
		KeyId:           req.KeyID,
		ValidPrincipals: strings.Split(req.ValidPrincipals, ","),
		ValidAfter:      uint64(now.Add(-30 * time.Second).Unix()), // Vault's default not_before_duration
		ValidBefore:     uint64(now.Add(ttl).Unix()),
		Permissions:     ssh.Permissions{CriticalOptions: req.CriticalOptions, Extensions: req.Extensions},
	}
	if s.opts.tamper != nil {
		s.opts.tamper(cert)
	}
	signer := s.ca
	if s.opts.signWith != nil {
		signer = s.opts.signWith
	}
	if err := cert.SignCert(rand.Reader, signer); err != nil {
		vaultError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if s.opts.afterSign != nil {
		s.opts.afterSign(cert)
	}
	vaultData(w, map[string]any{
		"serial_number": fmt.Sprintf("%016x", cert.Serial),
		"signed_key":    string(ssh.MarshalAuthorizedKey(cert)),
	})
}

// vaultData writes a successful Vault response around data.
func vaultData(w http.ResponseWriter, data map[string]any) {
	writeJSON(w, http.StatusOK, map[string]any{
		"request_id": "00000000-0000-0000-0000-000000000000", "lease_id": "", "renewable": false,
		"lease_duration": 0, "data": data, "wrap_info": nil, "warnings": nil, "auth": nil,
	})
}

// vaultError writes Vault's error body.
func vaultError(w http.ResponseWriter, status int, errs ...string) {
	if errs == nil {
		errs = []string{}
	}
	writeJSON(w, status, map[string]any{"errors": errs})
}

func (s *vaultStandIn) setToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

func (s *vaultStandIn) requests() []vaultSignRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]vaultSignRequest(nil), s.got...)
}

// writeToken writes token to a fresh file, with the whitespace an editor
// or `vault token create > file` leaves around it.
func writeToken(t *testing.T, path, token string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("  "+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// standInSigner is a VaultSigner for s with both roles and a token file.
func standInSigner(t *testing.T, s *vaultStandIn, cfg VaultConfig) *VaultSigner {
	t.Helper()
	cfg.Address = s.srv.URL
	if cfg.UserRole == "" && cfg.UpstreamRole == "" {
		cfg.UserRole, cfg.UpstreamRole = standInRole, standInRole
	}
	if cfg.TokenFile == "" && cfg.Token == "" {
		cfg.TokenFile = filepath.Join(t.TempDir(), "vault-token")
		writeToken(t, cfg.TokenFile, s.token)
	}
	v, err := NewVaultSigner(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

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
		}, want: ErrSignerRefused, text: "nope/public_key: HTTP 404"},
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
