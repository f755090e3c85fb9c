package certauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth/devoidc"
	"github.com/bastion-ssh/bastion/store"
)

// apiEnv is a certificate API in front of a real provider.
type apiEnv struct {
	provider *devoidc.Server
	ca       *Authority
	audit    *memAudit
	issuer   *Issuer
	used     *store.Store // the real store's used-token table
	api      *API
	http     *httptest.Server
}

func newAPIEnv(t testing.TB, provider *devoidc.Server, cfg OIDCIssuer, opts VerifierOptions) *apiEnv {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = provider.Issuer
	}
	if cfg.Audience == "" {
		cfg.Audience = testAudience
	}
	v, err := NewTokenVerifier([]OIDCIssuer{cfg}, opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &apiEnv{provider: provider, ca: &Authority{Signer: newSigner(t)}, audit: &memAudit{}, used: openStore(t)}
	e.issuer = &Issuer{Authority: e.ca, Tokens: v, Audit: e.audit, Used: e.used}
	e.api = &API{Issuer: e.issuer, HostKeys: []ssh.PublicKey{newSigner(t).PublicKey()}, SSHAddress: "127.0.0.1:2222"}
	e.http = httptest.NewTLSServer(e.api)
	t.Cleanup(e.http.Close)
	return e
}

// openStore opens a real store in a temporary directory.
func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "bastion.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// post sends a certificate request and decodes either answer.
func (e *apiEnv) post(t testing.TB, body any) (int, CertificateResponse, ErrorResponse) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.http.Client().Post(e.http.URL+PathCertificate, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ok CertificateResponse
	var refused ErrorResponse
	if resp.StatusCode == http.StatusOK {
		err = json.NewDecoder(resp.Body).Decode(&ok)
	} else {
		err = json.NewDecoder(resp.Body).Decode(&refused)
	}
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, ok, refused
}

func userKeyLine(t testing.TB) string {
	return string(ssh.MarshalAuthorizedKey(newSigner(t).PublicKey()))
}

func TestIssueFromDeviceLogin(t *testing.T) {
	provider := startProvider(t, jose.RS256)
	e := newAPIEnv(t, provider, OIDCIssuer{BindSourceAddress: true}, VerifierOptions{})
	token := deviceLogin(t, provider, testAudience, "alice")
	status, got, refused := e.post(t, CertificateRequest{Token: token, PublicKey: userKeyLine(t), TTL: "10m"})
	if status != http.StatusOK {
		t.Fatalf("status %d: %+v", status, refused)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(got.Certificate))
	if err != nil {
		t.Fatal(err)
	}
	cert := pub.(*ssh.Certificate)
	if got.Identity != "alice@example.com" || strings.Join(got.Groups, ",") != "ops,dba" || got.SSHAddress != "127.0.0.1:2222" {
		t.Errorf("response = %+v", got)
	}
	if cert.ValidPrincipals[0] != "alice" || cert.CriticalOptions["source-address"] != "127.0.0.1" {
		t.Errorf("principals %v, options %v", cert.ValidPrincipals, cert.CriticalOptions)
	}
	if d := time.Until(got.ValidBefore); d < 9*time.Minute || d > 10*time.Minute {
		t.Errorf("valid for %s, want 10m", d)
	}
	// The front server accepts it, from the bound address only.
	checker := &Checker{Authorities: []ssh.PublicKey{e.ca.Signer.PublicKey()}}
	if _, err := checker.Check(cert, &net127); err != nil {
		t.Errorf("checker: %v", err)
	}
	ev := e.audit.last(t)
	if ev.Type != EventIssue || ev.Identity != "alice@example.com" || ev.Detail["serial"] != got.Serial ||
		ev.Detail["issuer"] != provider.Issuer || ev.Detail["subject"] != "alice" || ev.SourceAddr != "127.0.0.1" ||
		ev.Detail["fingerprint"] != ssh.FingerprintSHA256(cert.Key) || ev.Detail["source_address"] != "127.0.0.1" {
		t.Errorf("audit event = %+v", ev)
	}
	assertNoToken(t, e.audit, token)
	keygenShows(t, cert, []string{`Key ID: "alice@example.com serial=` + got.Serial + `"`, "Principals: \n                alice",
		"Valid: from ", "source-address 127.0.0.1", "groups@bastion", "identity@bastion", "permit-pty"})
}

func TestIssueFromClientCredentials(t *testing.T) {
	provider := startProvider(t, jose.ES256)
	e := newAPIEnv(t, provider, OIDCIssuer{AllowedGroups: []string{"agents"}}, VerifierOptions{})
	token := serviceToken(t, provider)
	status, got, refused := e.post(t, CertificateRequest{Token: token, PublicKey: userKeyLine(t)})
	if status != http.StatusOK {
		t.Fatalf("status %d: %+v", status, refused)
	}
	// allowed_groups keeps only the groups this issuer may assert.
	if got.Identity != "ci-agent@example.com" || strings.Join(got.Groups, ",") != "agents" {
		t.Errorf("response = %+v", got)
	}
	if d := time.Until(got.ValidBefore); d < 14*time.Minute || d > DefaultUserTTL {
		t.Errorf("default validity %s", d)
	}
}

var net127 = netTCPAddr("127.0.0.1")

// TestIssueRefusals: each bad request is refused with its own reason, an
// audit event that does not contain the token, and no certificate.
func TestIssueRefusals(t *testing.T) {
	provider := startProvider(t, jose.RS256)
	other := startProvider(t, jose.RS256) // a real provider nobody trusts
	e := newAPIEnv(t, provider, OIDCIssuer{AllowedGroups: []string{"ops", "dba", "agents"}}, VerifierOptions{})
	alice := deviceLogin(t, provider, testAudience, "alice")
	keys := providerJWKS(t, provider)
	kid := keys.Keys[0].KeyID
	pubJWK, err := json.Marshal(keys.Keys[0]) // what an attacker can read
	if err != nil {
		t.Fatal(err)
	}
	rogue := newECKey(t)

	cases := []struct {
		name   string
		token  string
		key    string
		ttl    string
		env    *apiEnv
		want   error
		reason string
		status int
	}{
		{name: "expired-token", token: alice, want: ErrTokenExpired, reason: "expired_token", status: 401,
			env: newAPIEnv(t, provider, OIDCIssuer{}, VerifierOptions{Clock: func() time.Time { return time.Now().Add(time.Hour) }})},
		{name: "wrong-audience", token: deviceLogin(t, provider, testOtherClientID, "alice"), want: ErrWrongAudience, reason: "wrong_audience", status: 401},
		{name: "wrong-issuer", token: deviceLogin(t, other, testAudience, "alice"), want: ErrUnknownIssuer, reason: "wrong_issuer", status: 401},
		{name: "alg-none", token: forge(t, map[string]any{"alg": "none", "typ": "JWT"}, goodClaims(provider.Issuer), nil),
			want: ErrTokenAlgorithm, reason: "bad_algorithm", status: 401},
		{name: "hs256-with-public-key-as-secret", want: ErrTokenAlgorithm, reason: "bad_algorithm", status: 401,
			token: forge(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}, goodClaims(provider.Issuer), func(in []byte) []byte {
				m := hmac.New(sha256.New, pubJWK)
				m.Write(in)
				return m.Sum(nil)
			})},
		{name: "unknown-kid", token: joseSign(t, jose.ES256, rogue, "rogue-key", goodClaims(provider.Issuer)),
			want: ErrUnknownKey, reason: "unknown_key", status: 401},
		{name: "known-kid-wrong-key", token: joseSign(t, jose.ES256, rogue, kid, goodClaims(provider.Issuer)),
			want: ErrTokenSignature, reason: "bad_signature", status: 401},
		{name: "email-not-verified", token: deviceLogin(t, provider, testAudience, "bob"), want: ErrEmailNotVerified, reason: "email_not_verified", status: 403},
		{name: "group-not-allowed", token: deviceLogin(t, provider, testAudience, "carol"), want: ErrGroupNotAllowed, reason: "group_not_allowed", status: 403},
		{name: "ttl-above-maximum", token: alice, ttl: "16m", want: ErrTTLTooLong, reason: "ttl_too_long", status: 400},
		{name: "ttl-negative", token: alice, ttl: "-1m", want: ErrBadTTL, reason: "invalid_ttl", status: 400},
		{name: "malformed-public-key", token: alice, key: "ssh-ed25519 AAAAnotbase64!!", want: ErrBadPublicKey, reason: "malformed_public_key", status: 400},
		{name: "certificate-as-public-key", token: alice, key: string(ssh.MarshalAuthorizedKey(mustCert(t, e.ca))), want: ErrBadPublicKey, reason: "malformed_public_key", status: 400},
		{name: "garbage-token", token: "not.a.jwt", want: ErrMalformedToken, reason: "malformed_token", status: 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := e
			if c.env != nil {
				env = c.env
			}
			key := c.key
			if key == "" {
				key = userKeyLine(t)
			}
			before := env.audit.count()
			status, got, refused := env.post(t, CertificateRequest{Token: c.token, PublicKey: key, TTL: c.ttl})
			if status != c.status || refused.Reason != c.reason || got.Certificate != "" {
				t.Fatalf("status %d reason %q (%s), want %d %q", status, refused.Reason, refused.Error, c.status, c.reason)
			}
			if refused.Error == "" || !strings.HasPrefix(refused.Error, "certauth: ") {
				t.Errorf("error text %q", refused.Error)
			}
			if env.audit.count() != before+1 {
				t.Fatalf("%d audit events, want 1", env.audit.count()-before)
			}
			ev := env.audit.last(t)
			if ev.Type != EventRefused || ev.Reason != c.reason {
				t.Errorf("audit event = %+v", ev)
			}
			assertNoToken(t, env.audit, c.token)
			// The same failure through the Go API names the sentinel.
			_, err := env.issuer.Issue(t.Context(), IssueRequest{Token: c.token, PublicKey: key, TTL: c.ttl, RemoteAddr: "127.0.0.1:1"})
			if !errors.Is(err, c.want) {
				t.Errorf("Issue err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestIssueRefusesWhenAuditFails(t *testing.T) {
	provider := startProvider(t, jose.ES256)
	e := newAPIEnv(t, provider, OIDCIssuer{}, VerifierOptions{})
	e.audit.fail = errors.New("disk full")
	status, got, refused := e.post(t, CertificateRequest{Token: serviceToken(t, provider), PublicKey: userKeyLine(t)})
	if status != http.StatusInternalServerError || got.Certificate != "" || refused.Reason != "audit_failed" {
		t.Fatalf("status %d %+v", status, refused)
	}
	if strings.Contains(refused.Error, "disk full") {
		t.Errorf("internal error leaked to the client: %q", refused.Error)
	}
}

// TestKeyRotation: a token signed with a key published after the bastion
// cached the JWKS is accepted (the unknown kid triggers one refetch),
// and a flood of unknown kids does not refetch more than the interval
// allows.
func TestKeyRotation(t *testing.T) {
	provider := startProvider(t, jose.ES256)
	ct := &countingTransport{}
	e := newAPIEnv(t, provider, OIDCIssuer{}, VerifierOptions{HTTPClient: &http.Client{Transport: ct}, KeyRefetchInterval: 300 * time.Millisecond})
	issue := func(token string) error {
		_, err := e.issuer.Issue(t.Context(), IssueRequest{Token: token, PublicKey: userKeyLine(t), RemoteAddr: "127.0.0.1"})
		return err
	}
	if err := issue(serviceToken(t, provider)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(350 * time.Millisecond)
	if err := provider.RotateKey(); err != nil {
		t.Fatal(err)
	}
	if err := issue(serviceToken(t, provider)); err != nil {
		t.Fatalf("token signed with the rotated key: %v", err)
	}
	if n := ct.count("/keys"); n != 2 {
		t.Errorf("jwks fetched %d times, want 2", n)
	}
	rogue := newECKey(t)
	for i := range 20 {
		err := issue(joseSign(t, jose.ES256, rogue, "rogue-"+string(rune('a'+i)), goodClaims(provider.Issuer)))
		if !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("rogue kid: %v", err)
		}
	}
	if n := ct.count("/keys"); n > 3 {
		t.Errorf("20 unknown kids caused %d jwks fetches; want at most one more", n-2)
	}
}

func TestHostKeysEndpoint(t *testing.T) {
	e := newAPIEnv(t, startProvider(t, jose.ES256), OIDCIssuer{}, VerifierOptions{})
	resp, err := e.http.Client().Get(e.http.URL + PathHostKeys)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	k, _, _, _, err := ssh.ParseAuthorizedKey(buf.Bytes())
	if err != nil || !bytes.Equal(k.Marshal(), e.api.HostKeys[0].Marshal()) {
		t.Errorf("host keys = %q, %v", buf.String(), err)
	}
	resp2, err := e.http.Client().Get(e.http.URL + PathCertificate)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET %s = %d", PathCertificate, resp2.StatusCode)
	}
}

func TestIssuerUnavailable(t *testing.T) {
	provider := startProvider(t, jose.ES256)
	token := serviceToken(t, provider)
	e := newAPIEnv(t, provider, OIDCIssuer{}, VerifierOptions{})
	provider.Close()
	status, _, refused := e.post(t, CertificateRequest{Token: token, PublicKey: userKeyLine(t)})
	if status != http.StatusServiceUnavailable || refused.Reason != "issuer_unavailable" {
		t.Errorf("status %d %+v", status, refused)
	}
}

func assertNoToken(t testing.TB, m *memAudit, token string) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	b, _ := json.Marshal(m.events)
	sig := token[strings.LastIndex(token, ".")+1:]
	if len(sig) > 8 && strings.Contains(string(b), sig) || strings.Contains(string(b), token) {
		t.Error("audit events contain the token")
	}
}

// keygenShows checks ssh-keygen -L, the reference reader, on cert.
func keygenShows(t testing.TB, cert *ssh.Certificate, want []string) {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	path := filepath.Join(t.TempDir(), "id-cert.pub")
	if err := os.WriteFile(path, ssh.MarshalAuthorizedKey(cert), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ssh-keygen", "-L", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -L: %v\n%s", err, out)
	}
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Errorf("ssh-keygen -L lacks %q:\n%s", w, out)
		}
	}
}
