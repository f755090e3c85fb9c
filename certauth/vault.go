package certauth

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"
	"golang.org/x/crypto/ssh"
)

// Defaults and bounds of the Vault signer.
const (
	DefaultVaultMount = "ssh"
	// DefaultVaultTimeout bounds each call to Vault, retries included.
	DefaultVaultTimeout = 10 * time.Second
	// vaultRetries is how often a call is retried after a connection error
	// or an HTTP 5xx (e.g. during a Vault leader election), waiting
	// between vaultRetryWait and twice that. Kept well inside the timeout,
	// so that a failure reports its cause rather than the deadline.
	vaultRetries   = 1
	vaultRetryWait = 500 * time.Millisecond
	// vaultClockSkew is how far Vault's clock may run ahead of the
	// bastion's before a certificate counts as longer-lived than requested.
	vaultClockSkew = clockSkew
	// maxVaultTokenBytes bounds the token file; Vault tokens are ~100 bytes.
	maxVaultTokenBytes = 4 << 10
	// maxVaultBodyBytes bounds the public key read from Vault.
	maxVaultBodyBytes = 64 << 10
	// maxVaultErrorBytes bounds Vault's error text quoted in our errors.
	maxVaultErrorBytes = 512
)

// VaultConfig says which Vault SSH secrets engine signs, and how to reach it.
type VaultConfig struct {
	// Address is Vault's URL, e.g. https://vault.example.com:8200. Required.
	Address string
	// Mount is the path the SSH secrets engine is mounted at; "" means
	// DefaultVaultMount. One mount holds one CA key.
	Mount string
	// UserRole is the role that signs user certificates; "" means
	// SignUser fails.
	UserRole string
	// UpstreamRole is the role that signs upstream certificates; "" means
	// SignUpstream fails.
	UpstreamRole string
	// TokenFile holds the Vault token. It is read on every call, so a
	// rotated token (e.g. written by Vault Agent) takes effect at once.
	// If "", Token is used.
	TokenFile string
	// Token is the Vault token when TokenFile is "".
	Token string
	// CACert is a PEM file of the CAs that verify Vault's TLS certificate;
	// "" means the system roots.
	CACert string
	// Timeout bounds each call; zero means DefaultVaultTimeout.
	Timeout time.Duration
	// Clock returns the current time; if nil, time.Now is used.
	Clock func() time.Time
}

// VaultSigner signs certificates with HashiCorp Vault's SSH secrets engine
// (https://developer.hashicorp.com/vault/api-docs/secret/ssh), so the CA
// private key never leaves Vault. Vault's answer is not trusted blindly:
// a certificate that differs from the request in key, type, CA,
// principals, KeyId, extensions or critical options, or that outlives the
// requested lifetime, is refused with ErrSignerMismatch.
type VaultSigner struct {
	cfg VaultConfig
	// client carries no token of its own: each call sets the current one.
	client *vault.Client
	ca     ssh.PublicKey // MOUNT/public_key, read once by NewVaultSigner
}

// NewVaultSigner reads the mount's CA public key from Vault. An
// unreachable Vault, an unconfigured CA or an unreadable token is an
// error here, at start-up, rather than at the first login.
func NewVaultSigner(ctx context.Context, cfg VaultConfig) (*VaultSigner, error) {
	if cfg.Address == "" {
		return nil, errors.New("certauth: vault: missing address")
	}
	cfg.Mount = strings.Trim(cfg.Mount, "/")
	if cfg.Mount == "" {
		cfg.Mount = DefaultVaultMount
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultVaultTimeout
	}
	v := &VaultSigner{cfg: cfg}
	if _, err := v.token(); err != nil {
		return nil, err
	}
	client, err := newVaultClient(cfg)
	if err != nil {
		return nil, err
	}
	v.client = client
	if v.ca, err = v.fetchPublicKey(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

func newVaultClient(cfg VaultConfig) (*vault.Client, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CACert != "" {
		pem, err := os.ReadFile(cfg.CACert)
		if err != nil {
			return nil, fmt.Errorf("certauth: vault ca_cert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("certauth: vault ca_cert %s: no PEM certificates", cfg.CACert)
		}
		tlsConfig.RootCAs = pool
	}
	// An explicit transport: the client's default one would also take TLS
	// settings (VAULT_SKIP_VERIFY among them) from the environment.
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: cfg.Timeout,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	client, err := vault.NewClient(&vault.Config{
		Address: cfg.Address,
		HttpClient: &http.Client{
			Transport: transport,
			// The Vault client follows a standby's redirect itself, at most
			// once and never from https to http.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		Timeout:      cfg.Timeout,
		MaxRetries:   vaultRetries,
		MinRetryWait: vaultRetryWait,
		MaxRetryWait: 2 * vaultRetryWait,
	})
	if err != nil {
		return nil, fmt.Errorf("certauth: vault client: %w", err)
	}
	// NewClient adopts VAULT_TOKEN by itself; the token is set per call
	// instead, from VaultConfig.
	client.ClearToken()
	return client, nil
}

// PublicKey returns the mount's CA public key.
func (v *VaultSigner) PublicKey() ssh.PublicKey { return v.ca }

// SignUser asks Vault's user role for a user certificate. The KeyId is the
// identity: Vault chooses the serial, and sshd logs it beside the KeyId.
func (v *VaultSigner) SignUser(r UserRequest) (*ssh.Certificate, error) {
	want, ttl, err := userTemplate(r, time.Now())
	if err != nil {
		return nil, err
	}
	want.KeyId = r.Identity
	return v.sign(v.cfg.UserRole, "user", want, ttl)
}

// SignUpstream asks Vault's upstream role for a per-connection certificate.
func (v *VaultSigner) SignUpstream(r UpstreamRequest) (*ssh.Certificate, error) {
	want, ttl, err := upstreamTemplate(r)
	if err != nil {
		return nil, err
	}
	return v.sign(v.cfg.UpstreamRole, "upstream", want, ttl)
}

// sign sends want to MOUNT/sign/ROLE and checks the answer against it.
func (v *VaultSigner) sign(role, kind string, want *ssh.Certificate, ttl time.Duration) (*ssh.Certificate, error) {
	if role == "" {
		return nil, fmt.Errorf("certauth: vault signer for mount %s has no role for %s certificates", v.cfg.Mount, kind)
	}
	// Vault takes whole seconds, and "0" would mean the role's default.
	ttl = ttl.Truncate(time.Second)
	if ttl < time.Second {
		ttl = time.Second
	}
	token, err := v.token()
	if err != nil {
		return nil, err
	}
	data := map[string]any{
		"public_key":       string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(want.Key))),
		"cert_type":        "user",
		"valid_principals": strings.Join(want.ValidPrincipals, ","),
		"key_id":           want.KeyId,
		"ttl":              fmt.Sprintf("%ds", int64(ttl/time.Second)),
		"extensions":       want.Extensions,
	}
	if len(want.CriticalOptions) > 0 {
		data["critical_options"] = want.CriticalOptions
	}
	op := v.cfg.Mount + "/sign/" + role
	// Signer methods carry no context; the timeout bounds the call.
	ctx, cancel := context.WithTimeout(context.Background(), v.cfg.Timeout)
	defer cancel()
	asked := v.now()
	client := v.client.WithRequestCallbacks(func(r *vault.Request) { r.ClientToken = token })
	secret, err := client.SSHWithMountPoint(v.cfg.Mount).SignKeyWithContext(ctx, role, data)
	if err != nil {
		return nil, v.callError(op, err)
	}
	if secret == nil || secret.Data == nil {
		return nil, fmt.Errorf("%w: vault %s: response has no data", ErrSignerMismatch, op)
	}
	signed, _ := secret.Data["signed_key"].(string)
	if signed == "" {
		return nil, fmt.Errorf("%w: vault %s: response has no signed_key", ErrSignerMismatch, op)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(signed))
	if err != nil {
		return nil, fmt.Errorf("%w: vault %s: signed_key: %v", ErrSignerMismatch, op, err)
	}
	cert, ok := pub.(*ssh.Certificate)
	if !ok {
		return nil, fmt.Errorf("%w: vault %s: signed_key is a %s key, not a certificate", ErrSignerMismatch, op, pub.Type())
	}
	if err := v.check(want, ttl, asked, cert); err != nil {
		return nil, fmt.Errorf("%w: vault %s: %v", ErrSignerMismatch, op, err)
	}
	return cert, nil
}

// check compares the certificate Vault returned with the one requested.
// Neither a role's defaults nor a misconfigured or compromised Vault may
// widen what a certificate grants, so any difference is refused; only the
// validity may be shorter than asked for.
func (v *VaultSigner) check(want *ssh.Certificate, ttl time.Duration, asked time.Time, got *ssh.Certificate) error {
	if got.CertType != ssh.UserCert {
		return fmt.Errorf("a host certificate, not a user certificate")
	}
	if !bytes.Equal(got.Key.Marshal(), want.Key.Marshal()) {
		return fmt.Errorf("certifies key %s, not the requested %s", ssh.FingerprintSHA256(got.Key), ssh.FingerprintSHA256(want.Key))
	}
	if !bytes.Equal(got.SignatureKey.Marshal(), v.ca.Marshal()) {
		return fmt.Errorf("signed by CA %s, not the mount's CA %s", ssh.FingerprintSHA256(got.SignatureKey), ssh.FingerprintSHA256(v.ca))
	}
	if !slices.Equal(sorted(got.ValidPrincipals), sorted(want.ValidPrincipals)) {
		return fmt.Errorf("principals %q, requested %q", got.ValidPrincipals, want.ValidPrincipals)
	}
	if got.KeyId != want.KeyId {
		return fmt.Errorf("KeyId %q, requested %q", got.KeyId, want.KeyId)
	}
	if !maps.Equal(got.Extensions, want.Extensions) {
		return fmt.Errorf("extensions %q, requested %q", got.Extensions, want.Extensions)
	}
	if !maps.Equal(got.CriticalOptions, want.CriticalOptions) {
		return fmt.Errorf("critical options %q, requested %q", got.CriticalOptions, want.CriticalOptions)
	}
	if latest := asked.Add(ttl + vaultClockSkew); got.ValidBefore == ssh.CertTimeInfinity || got.ValidBefore > uint64(latest.Unix()) {
		return fmt.Errorf("valid until %s, longer than the requested %s", certTime(got.ValidBefore), ttl)
	}
	now := v.now()
	if got.ValidAfter > uint64(now.Add(vaultClockSkew).Unix()) {
		return fmt.Errorf("not valid before %s", certTime(got.ValidAfter))
	}
	if got.ValidBefore <= uint64(now.Unix()) || got.ValidBefore <= got.ValidAfter {
		return fmt.Errorf("not valid now (valid from %s until %s)", certTime(got.ValidAfter), certTime(got.ValidBefore))
	}
	// The signature last, as ssh.CertChecker checks it. Validity was checked
	// above against this clock with a skew allowance, so the checker's own
	// clock is set inside the window.
	verifier := ssh.CertChecker{
		IsUserAuthority:          func(k ssh.PublicKey) bool { return bytes.Equal(k.Marshal(), v.ca.Marshal()) },
		Clock:                    func() time.Time { return time.Unix(int64(got.ValidAfter), 0) },
		SupportedCriticalOptions: []string{"source-address"},
	}
	if err := verifier.CheckCert(want.ValidPrincipals[0], got); err != nil {
		return fmt.Errorf("signature: %v", err)
	}
	return nil
}

// fetchPublicKey reads GET MOUNT/public_key, which Vault serves as one
// authorized_keys line without authentication.
func (v *VaultSigner) fetchPublicKey(ctx context.Context) (ssh.PublicKey, error) {
	op := v.cfg.Mount + "/public_key"
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	resp, err := v.client.Logical().ReadRawWithContext(ctx, op)
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		return nil, v.callError(op, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxVaultBodyBytes))
	if err != nil {
		return nil, v.callError(op, err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(body)
	if err != nil {
		return nil, fmt.Errorf("%w: vault %s: not an SSH public key: %v", ErrSignerMismatch, op, err)
	}
	if _, ok := pub.(*ssh.Certificate); ok {
		return nil, fmt.Errorf("%w: vault %s: a certificate, not a CA public key", ErrSignerMismatch, op)
	}
	return pub, nil
}

// callError sorts a failed call into refused (4xx) or unavailable.
func (v *VaultSigner) callError(op string, err error) error {
	var re *vault.ResponseError
	switch {
	case errors.As(err, &re):
		sentinel := ErrSignerUnavailable
		if re.StatusCode >= 400 && re.StatusCode < 500 && re.StatusCode != http.StatusTooManyRequests {
			sentinel = ErrSignerRefused
		}
		msg := strings.Join(re.Errors, "; ")
		if len(msg) > maxVaultErrorBytes {
			msg = msg[:maxVaultErrorBytes] + "..."
		}
		return fmt.Errorf("%w: vault %s: HTTP %d: %q", sentinel, op, re.StatusCode, msg)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: vault %s: no answer within %s", ErrSignerUnavailable, op, v.cfg.Timeout)
	default:
		return fmt.Errorf("%w: vault %s: %v", ErrSignerUnavailable, op, err)
	}
}

// token returns the current Vault token, reading TokenFile afresh.
func (v *VaultSigner) token() (string, error) {
	token := v.cfg.Token
	if v.cfg.TokenFile != "" {
		f, err := os.Open(v.cfg.TokenFile)
		if err != nil {
			return "", fmt.Errorf("%w: vault token: %v", ErrSignerUnavailable, err)
		}
		b, err := io.ReadAll(io.LimitReader(f, maxVaultTokenBytes))
		f.Close()
		if err != nil {
			return "", fmt.Errorf("%w: vault token: %v", ErrSignerUnavailable, err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return "", fmt.Errorf("%w: no vault token", ErrSignerUnavailable)
	}
	if strings.IndexFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return "", fmt.Errorf("%w: vault token contains spaces or control characters", ErrSignerUnavailable)
	}
	return token, nil
}

func (v *VaultSigner) now() time.Time {
	if v.cfg.Clock != nil {
		return v.cfg.Clock()
	}
	return time.Now()
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

func certTime(t uint64) string {
	if t == ssh.CertTimeInfinity {
		return "forever"
	}
	return time.Unix(int64(t), 0).UTC().Format(time.RFC3339)
}
