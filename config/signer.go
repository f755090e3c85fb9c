package config

import (
	"net/url"
	"strings"
)

// Signer kinds.
const (
	SignerLocal = "local" // CA private keys in files: user_ca_key, target_ca_key (default)
	SignerVault = "vault" // HashiCorp Vault's SSH secrets engine holds the CA keys
)

// DefaultVaultMount is where Vault's SSH secrets engine is usually mounted.
const DefaultVaultMount = "ssh"

// Signer chooses what signs user and upstream certificates.
type Signer struct {
	// Type is "local" (default) or "vault".
	Type string `yaml:"type"`
	// Vault is used with type vault, and must be empty otherwise.
	Vault Vault `yaml:"vault"`
}

// Vault is the SSH secrets engine that signs when signer.type is vault.
// With it, user_ca_key and target_ca_key are not set: Vault holds both
// CA keys, and the bastion never sees them.
type Vault struct {
	// Address is Vault's URL, e.g. https://vault.example.com:8200. https is
	// required except on loopback: every request carries the token.
	// Required.
	Address string `yaml:"address"`
	// Mount is the SSH secrets engine that signs user certificates
	// (default "ssh"). Its CA public key, MOUNT/public_key, is trusted for
	// logins; it is read at start-up, and an unreachable Vault stops the
	// start.
	Mount string `yaml:"mount"`
	// UserRole is the role on Mount that signs user certificates. Required.
	UserRole string `yaml:"user_role"`
	// UpstreamMount is the SSH secrets engine that signs the per-session
	// certificates presented to targets; targets trust its CA. It must
	// differ from Mount: one mount has one CA key, and targets trusting
	// the user CA would accept user certificates directly, bypassing the
	// bastion. Required with UpstreamRole.
	UpstreamMount string `yaml:"upstream_mount"`
	// UpstreamRole is the role on UpstreamMount that signs upstream
	// certificates. Required when a target uses credential type
	// certificate.
	UpstreamRole string `yaml:"upstream_role"`
	// TokenFile holds the Vault token. It is read again for every request,
	// so a rotated token (e.g. Vault Agent's sink file) takes effect at
	// once. "" means the VAULT_TOKEN environment variable.
	TokenFile string `yaml:"token_file"`
	// CACert is a PEM file with the CAs that verify Vault's TLS
	// certificate; "" means the system roots.
	CACert string `yaml:"ca_cert"`
}

func (c *Config) validateSigner() error {
	s := &c.Signer
	switch s.Type {
	case "":
		s.Type = SignerLocal
	case SignerLocal, SignerVault:
	default:
		return invalid("signer.type", "unknown %q (want local or vault)", s.Type)
	}
	if s.Type == SignerLocal {
		if s.Vault != (Vault{}) {
			return invalid("signer.vault", "set, but signer.type is local")
		}
		if c.UserCAKey == "" {
			return invalid("user_ca_key", "missing")
		}
		return nil
	}
	v := &s.Vault
	for _, f := range []struct{ name, value string }{{"user_ca_key", c.UserCAKey}, {"target_ca_key", c.TargetCAKey}} {
		if f.value != "" {
			return invalid(f.name, "set, but signer.type is vault, which holds the CA keys")
		}
	}
	u, err := url.Parse(v.Address)
	if v.Address == "" {
		return invalid("signer.vault.address", "missing")
	}
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return invalid("signer.vault.address", "want an https URL (http only on loopback), got %q", v.Address)
	}
	if v.Mount == "" {
		v.Mount = DefaultVaultMount
	}
	if !validMount(v.Mount) {
		return invalid("signer.vault.mount", "%q: want a path such as ssh or teams/ssh", v.Mount)
	}
	if v.UserRole == "" {
		return invalid("signer.vault.user_role", "missing")
	}
	if !validName(v.UserRole) {
		return invalid("signer.vault.user_role", "%q: use letters, digits, '-', '_' and '.' only", v.UserRole)
	}
	switch {
	case v.UpstreamRole == "" && v.UpstreamMount != "":
		return invalid("signer.vault.upstream_role", "missing, but upstream_mount is set")
	case v.UpstreamRole == "":
	case v.UpstreamMount == "":
		return invalid("signer.vault.upstream_mount", "missing, but upstream_role is set")
	case !validMount(v.UpstreamMount):
		return invalid("signer.vault.upstream_mount", "%q: want a path such as ssh-target", v.UpstreamMount)
	case strings.Trim(v.UpstreamMount, "/") == strings.Trim(v.Mount, "/"):
		return invalid("signer.vault.upstream_mount", "%q is also the user mount: targets would trust user certificates", v.UpstreamMount)
	case !validName(v.UpstreamRole):
		return invalid("signer.vault.upstream_role", "%q: use letters, digits, '-', '_' and '.' only", v.UpstreamRole)
	}
	return nil
}

// validMount reports whether s is a Vault mount path: names joined by '/'.
func validMount(s string) bool {
	for _, part := range strings.Split(strings.Trim(s, "/"), "/") {
		if part == "" || part == "." || part == ".." || !validName(part) {
			return false
		}
	}
	return true
}
