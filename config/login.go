package config

import (
	"fmt"
	"net"
	"net/url"
	"time"
)

// HTTP is the HTTPS listener of the certificate API.
type HTTP struct {
	// Listen is the address, e.g. "127.0.0.1:8443"; "" disables the API.
	Listen string `yaml:"listen"`
	// TLSCert and TLSKey are PEM files. Required with Listen: requests
	// carry bearer tokens, so the API is never served in clear text.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// SSHAddress is the host:port clients dial for SSH, written into the
	// ssh_config and known_hosts that `bastion login` generates. ""
	// means the front listen address.
	SSHAddress string `yaml:"ssh_address"`
	// RateLimit bounds certificate requests per client address.
	RateLimit RateLimit `yaml:"rate_limit"`
}

// RateLimit is a token bucket per client address: Burst requests at once,
// then PerSecond. Zero values mean the defaults (5 per second, burst 20).
type RateLimit struct {
	PerSecond float64 `yaml:"per_second"`
	Burst     int     `yaml:"burst"`
}

// Issuer is one trusted OIDC identity provider and its claim mapping.
type Issuer struct {
	// URL is the issuer exactly as in its tokens' iss claim. https is
	// required except on loopback. Required.
	URL string `yaml:"url"`
	// Audience must be in the tokens' aud claim. Required.
	Audience string `yaml:"audience"`
	// IdentityClaim names the identity claim (default "email").
	IdentityClaim string `yaml:"identity_claim"`
	// GroupsClaim names the groups claim (default "groups").
	GroupsClaim string `yaml:"groups_claim"`
	// AllowedGroups, if set, are the only groups this issuer may assert;
	// a login with none of them is refused.
	AllowedGroups []string `yaml:"allowed_groups"`
	// MaxTTL is the longest certificate granted (default 15m, at most 24h).
	MaxTTL time.Duration `yaml:"max_ttl"`
	// RequireEmailVerified refuses tokens without email_verified=true.
	// Unset means true when the identity claim is email.
	RequireEmailVerified *bool `yaml:"require_email_verified"`
	// BindSourceAddress restricts each certificate to the address that
	// requested it (OpenSSH's source-address critical option).
	BindSourceAddress bool `yaml:"bind_source_address"`
	// AllowTokenReuse lets one token buy several certificates. Off by
	// default: each token's jti (or hash) is recorded at exchange and a
	// second exchange is refused, so a leaked token is worth at most one
	// certificate, already issued to its owner.
	AllowTokenReuse bool `yaml:"allow_token_reuse"`
}

func (c *Config) validateLogin() error {
	h := c.HTTP
	if h.Listen == "" {
		if h.TLSCert != "" || h.TLSKey != "" {
			return invalid("http.listen", "missing, but tls_cert or tls_key is set")
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(h.Listen); err != nil {
		return invalid("http.listen", "want host:port, got %q", h.Listen)
	}
	if h.RateLimit.PerSecond < 0 || h.RateLimit.Burst < 0 {
		return invalid("http.rate_limit", "per_second and burst must not be negative")
	}
	if h.TLSCert == "" || h.TLSKey == "" {
		return invalid("http", "tls_cert and tls_key are required: the API receives bearer tokens")
	}
	if h.SSHAddress != "" {
		if _, _, err := net.SplitHostPort(h.SSHAddress); err != nil {
			return invalid("http.ssh_address", "want host:port, got %q", h.SSHAddress)
		}
	}
	if len(c.Issuers) == 0 {
		return invalid("issuers", "at least one issuer is required with http.listen")
	}
	seen := map[string]bool{}
	for i, is := range c.Issuers {
		field := fmt.Sprintf("issuers[%d]", i)
		u, err := url.Parse(is.URL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
			return invalid(field+".url", "want an https URL (http only on loopback), got %q", is.URL)
		}
		if seen[is.URL] {
			return invalid(field+".url", "duplicate issuer %q", is.URL)
		}
		seen[is.URL] = true
		if is.Audience == "" {
			return invalid(field+".audience", "missing")
		}
		if is.MaxTTL < 0 || is.MaxTTL > 24*time.Hour {
			return invalid(field+".max_ttl", "%s outside (0, 24h]", is.MaxTTL)
		}
	}
	return nil
}

// EmailVerifiedRequired resolves RequireEmailVerified's default.
func (is Issuer) EmailVerifiedRequired() bool {
	if is.RequireEmailVerified != nil {
		return *is.RequireEmailVerified
	}
	return is.IdentityClaim == "" || is.IdentityClaim == "email"
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
