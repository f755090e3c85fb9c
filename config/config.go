// Package config loads and validates bastion's one YAML configuration file.
//
// Validation is complete before anything starts: an invalid file yields an
// error naming the file, the field and the problem, and the server never
// starts half-configured. Relative paths are resolved against the
// directory of the config file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/internal/yamlerr"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid config")

// Config is the whole configuration of one bastion.
type Config struct {
	// Listen is the front SSH address, e.g. "0.0.0.0:2222". Required.
	Listen string `yaml:"listen"`
	// DataDir holds the database and recordings. Required.
	DataDir string `yaml:"data_dir"`
	// HostKey is the bastion's own SSH host key (OpenSSH private key file).
	// Required: a bastion never generates one silently in production.
	HostKey string `yaml:"host_key"`
	// UserCAKey signs user certificates (`bastion ca sign`). Its public key
	// is trusted for logins. Required with the local signer; not set with
	// the vault signer.
	UserCAKey string `yaml:"user_ca_key"`
	// TrustedUserCAs are extra public key files trusted for logins, e.g. the
	// previous CA during a rotation.
	TrustedUserCAs []string `yaml:"trusted_user_cas"`
	// TargetCAKey signs the per-session upstream certificates. Required if
	// any target uses credential "certificate" with the local signer; not
	// set with the vault signer.
	TargetCAKey string `yaml:"target_ca_key"`
	// Signer chooses what signs certificates: the local CA keys above
	// (default) or HashiCorp Vault.
	Signer Signer `yaml:"signer"`
	// SigningKey (an OpenSSH ed25519 private key file) signs recording
	// manifests and checkpoints, so an auditor can verify them with its
	// public key alone. Required.
	SigningKey string `yaml:"signing_key"`
	// FingerprintSecret is a file of at least 32 secret bytes that keys the
	// fingerprints of masked values in audit records. It is its own secret,
	// not derived from any signing key, so that whoever verifies recordings
	// cannot test guesses against fingerprints. Empty means
	// DATA_DIR/fingerprint_secret, created (random, mode 0600) on first
	// start; a configured file must exist. It must not be readable by group
	// or others.
	FingerprintSecret string `yaml:"fingerprint_secret"`
	// Policy is the policy file (hot-reloaded). Required.
	Policy string `yaml:"policy"`
	// Recording controls session recording.
	Recording Recording `yaml:"recording"`
	// Limits bounds connections and waits.
	Limits Limits `yaml:"limits"`
	// Targets are the hosts the bastion may reach. None is valid (a fresh
	// `bastion init`), but then nobody can reach anything; `serve --check`
	// says so.
	Targets []Target `yaml:"targets"`
	// HTTP serves the certificate API that `bastion login` uses. Optional:
	// without it no certificates are issued from OIDC logins.
	HTTP HTTP `yaml:"http"`
	// Issuers are the OIDC identity providers whose tokens buy user
	// certificates through the HTTP API. Required when http.listen is set.
	Issuers []Issuer `yaml:"issuers"`
	// Diagnostics serves metrics (and optionally pprof) on loopback.
	Diagnostics Diagnostics `yaml:"diagnostics"`
	// Evidence anchors the session log outside the data directory.
	Evidence Evidence `yaml:"evidence"`
	// Retention says how long recordings are kept, and what is held.
	Retention Retention `yaml:"retention"`
	// Slack brings held commands to reviewers (optional; see Slack).
	Slack Slack `yaml:"slack"`
	// Store chooses the database: SQLite in the data directory (default)
	// or PostgreSQL shared by several bastions.
	Store Store `yaml:"store"`
	// ListenProxyProtocol names the load balancers that speak PROXY
	// protocol to the SSH listener and the certificate API (optional; see
	// ProxyProtocol).
	ListenProxyProtocol ProxyProtocol `yaml:"listen_proxy_protocol"`
	// Node names this bastion in recordings and audit events when several
	// serve as one; empty means the host name.
	Node string `yaml:"node"`

	// File is the path the config was loaded from (not in YAML).
	File string `yaml:"-"`
}

// Recording settings.
type Recording struct {
	// Dir for recordings; empty means DATA_DIR/recordings.
	Dir string `yaml:"dir"`
	// RecordInput also records client keystrokes ("i" events). Off by
	// default: passwords typed at prompts would land in the recording.
	RecordInput bool `yaml:"record_input"`
	// S3 ships recordings to object storage; not set: they stay local.
	S3 S3 `yaml:"s3"`
}

// Limits are named timeouts; zero means the documented default.
type Limits struct {
	// HandshakeTimeout bounds the client's SSH handshake (default 20s).
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
	// IdleTimeout ends a connection with no traffic (default 0: none).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// DialTimeout bounds connecting to a target (default 10s).
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// CertificateCheck is how often open connections are checked against
	// revocations and their certificate's expiry (default 5s).
	CertificateCheck time.Duration `yaml:"certificate_check"`
	// MaxConnsPerSource bounds the connections open at once from one
	// source IP (default 64; -1: unlimited).
	MaxConnsPerSource int `yaml:"max_conns_per_source"`
	// DrainTimeout is how long open sessions may go on after SIGTERM or
	// SIGINT before they are ended (default 10s).
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// NodeStaleAfter is how long a node may go without a heartbeat in the
	// store before the other nodes (or its own next start) end the
	// sessions it left open as incomplete (default 30s; at least 1s). Each
	// node beats every sixth of it, so set it above the longest stall a
	// live node may have (a VM paused, the database unreachable).
	NodeStaleAfter time.Duration `yaml:"node_stale_after"`
}

// Target is one host behind the bastion.
type Target struct {
	Name    string `yaml:"name"`    // what users type: LOGIN@NAME@bastion
	Address string `yaml:"address"` // host:port
	// Exactly one of HostKey (an authorized_keys-format line), KnownHosts
	// (a known_hosts file) or HostCA (a public key line) verifies the target.
	HostKey    string `yaml:"host_key"`
	KnownHosts string `yaml:"known_hosts"`
	HostCA     string `yaml:"host_ca"`
	// Login is used when the user gives none (ssh TARGET@bastion).
	Login string `yaml:"login"`
	// Credential is how the bastion authenticates to the target.
	Credential Credential `yaml:"credential"`
}

// Credential kinds.
const (
	CredentialCertificate = "certificate" // per-session cert from the target CA (default)
	CredentialKey         = "key"         // a private key file only the bastion reads
)

// Credential is the bastion-held credential for a target.
type Credential struct {
	Type    string `yaml:"type"`     // "certificate" (default) or "key"
	KeyFile string `yaml:"key_file"` // for type "key"
}

// Load reads, resolves and validates the config file.
func Load(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data, filepath.Dir(file))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", file, err)
	}
	c.File = file
	return c, nil
}

// Parse decodes and validates a config document; relative paths are
// resolved against baseDir. Unknown fields are errors.
func Parse(data []byte, baseDir string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, yamlerr.Explain(err, data, reflect.TypeOf(c)))
	}
	c.resolve(baseDir)
	if err := c.validate(); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.Line = yamlerr.Line(data, fe.Field)
		}
		return nil, err
	}
	return &c, nil
}

// WithDefaults returns the limits with zero values replaced by defaults.
func (l Limits) WithDefaults() Limits {
	if l.HandshakeTimeout == 0 {
		l.HandshakeTimeout = 20 * time.Second
	}
	if l.DialTimeout == 0 {
		l.DialTimeout = 10 * time.Second
	}
	if l.DrainTimeout == 0 {
		l.DrainTimeout = DefaultDrainTimeout
	}
	return l
}

// RecordingDir is where session recordings are written.
func (c *Config) RecordingDir() string {
	if c.Recording.Dir != "" {
		return c.Recording.Dir
	}
	return filepath.Join(c.DataDir, "recordings")
}

// FingerprintSecretFile returns the fingerprint secret's path, and whether
// it is the default one in the data directory (which may be created).
func (c *Config) FingerprintSecretFile() (path string, isDefault bool) {
	if c.FingerprintSecret != "" {
		return c.FingerprintSecret, false
	}
	return filepath.Join(c.DataDir, "fingerprint_secret"), true
}

// Target returns the target named name.
func (c *Config) Target(name string) (Target, bool) {
	for _, t := range c.Targets {
		if t.Name == name {
			return t, true
		}
	}
	return Target{}, false
}

// TargetNames lists the targets' names in config order.
func (c *Config) TargetNames() []string {
	names := make([]string, len(c.Targets))
	for i, t := range c.Targets {
		names[i] = t.Name
	}
	return names
}

func (c *Config) resolve(base string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	abs(&c.DataDir)
	abs(&c.HostKey)
	abs(&c.UserCAKey)
	abs(&c.TargetCAKey)
	abs(&c.Policy)
	abs(&c.SigningKey)
	abs(&c.FingerprintSecret)
	abs(&c.Recording.Dir)
	abs(&c.Recording.S3.AccessKeyFile)
	abs(&c.Recording.S3.SecretKeyFile)
	abs(&c.Evidence.WitnessFile)
	for i := range c.TrustedUserCAs {
		abs(&c.TrustedUserCAs[i])
	}
	abs(&c.HTTP.TLSCert)
	abs(&c.HTTP.TLSKey)
	abs(&c.Signer.Vault.TokenFile)
	abs(&c.Signer.Vault.CACert)
	abs(&c.Slack.SigningSecretFile)
	abs(&c.Slack.WebhookURLFile)
	if c.Store.Postgres != nil {
		abs(&c.Store.Postgres.DSNFile)
	}
	for i := range c.Targets {
		abs(&c.Targets[i].KnownHosts)
		abs(&c.Targets[i].Credential.KeyFile)
	}
}

// FieldError is a field that failed validation. It wraps ErrInvalid.
type FieldError struct {
	Field string // as written in YAML, e.g. "targets[1].address"
	Line  int    // of the field in the file; 0 when unknown or missing
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%v: line %d: %s: %s", ErrInvalid, e.Line, e.Field, e.Msg)
	}
	return fmt.Sprintf("%v: %s: %s", ErrInvalid, e.Field, e.Msg)
}

func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (c *Config) validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return invalid("listen", "want host:port, got %q", c.Listen)
	}
	for _, f := range []struct{ name, value string }{
		{"data_dir", c.DataDir}, {"host_key", c.HostKey},
		{"signing_key", c.SigningKey}, {"policy", c.Policy},
	} {
		if f.value == "" {
			return invalid(f.name, "missing")
		}
	}
	if c.Limits.HandshakeTimeout < 0 || c.Limits.IdleTimeout < 0 || c.Limits.DialTimeout < 0 || c.Limits.CertificateCheck < 0 {
		return invalid("limits", "timeouts must not be negative")
	}
	if err := c.validateSigner(); err != nil {
		return err
	}
	if err := c.validateLogin(); err != nil {
		return err
	}
	if err := c.validateDiagnostics(); err != nil {
		return err
	}
	if err := c.validateEvidence(); err != nil {
		return err
	}
	if err := c.validateSlack(); err != nil {
		return err
	}
	if err := c.validateStore(); err != nil {
		return err
	}
	if err := c.validateRecordingS3(); err != nil {
		return err
	}
	if err := c.validateLoadBalancer(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i := range c.Targets {
		t := &c.Targets[i]
		field := fmt.Sprintf("targets[%d]", i)
		if err := t.validate(field); err != nil {
			return err
		}
		if seen[t.Name] {
			return invalid(field+".name", "duplicate target %q", t.Name)
		}
		seen[t.Name] = true
		switch {
		case t.Credential.Type != CredentialCertificate:
		case c.Signer.Type == SignerLocal && c.TargetCAKey == "":
			return invalid("target_ca_key", "missing, but %s uses a certificate credential", field)
		case c.Signer.Type == SignerVault && c.Signer.Vault.UpstreamRole == "":
			return invalid("signer.vault.upstream_role", "missing, but %s uses a certificate credential", field)
		}
	}
	return nil
}

func (t *Target) validate(field string) error {
	if t.Name == "" {
		return invalid(field+".name", "missing")
	}
	if !validName(t.Name) {
		return invalid(field+".name", "%q: use letters, digits, '-', '_' and '.' only", t.Name)
	}
	if _, _, err := net.SplitHostPort(t.Address); err != nil {
		return invalid(field+".address", "want host:port, got %q", t.Address)
	}
	n := 0
	for _, v := range []string{t.HostKey, t.KnownHosts, t.HostCA} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return invalid(field, "set exactly one of host_key, known_hosts, host_ca (the target's host key is always verified)")
	}
	for _, k := range []struct{ field, value string }{{"host_key", t.HostKey}, {"host_ca", t.HostCA}} {
		if k.value == "" {
			continue
		}
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.value)); err != nil {
			return invalid(field+"."+k.field, "not an SSH public key line: %v", err)
		}
	}
	switch t.Credential.Type {
	case "":
		t.Credential.Type = CredentialCertificate
	case CredentialCertificate:
	case CredentialKey:
		if t.Credential.KeyFile == "" {
			return invalid(field+".credential.key_file", "missing for credential type key")
		}
	default:
		return invalid(field+".credential.type", "unknown %q (want certificate or key)", t.Credential.Type)
	}
	return nil
}

// validName reports whether s is usable as a target name in LOGIN@TARGET.
func validName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
