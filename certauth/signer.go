package certauth

import (
	"errors"

	"golang.org/x/crypto/ssh"
)

// Signer issues certificates with one CA key. Authority holds the key in
// this process; VaultSigner asks HashiCorp Vault, which holds it instead.
type Signer interface {
	SignUser(UserRequest) (*ssh.Certificate, error)
	SignUpstream(UpstreamRequest) (*ssh.Certificate, error)
	// PublicKey is the CA public key, for trust lists.
	PublicKey() ssh.PublicKey
}

var (
	_ Signer = (*Authority)(nil)
	_ Signer = (*VaultSigner)(nil)
)

// Reasons a remote signer fails, each with its own reason code
// (reasons.go). Requests it refuses before asking wrap ErrBadRequest.
var (
	// ErrSignerUnavailable: the signer could not be reached, did not answer
	// in time, or failed on its side (HTTP 5xx).
	ErrSignerUnavailable = errors.New("certauth: certificate signer unavailable")
	// ErrSignerRefused: the signer refused the request (HTTP 4xx, e.g.
	// Vault's "permission denied").
	ErrSignerRefused = errors.New("certauth: certificate signer refused the request")
	// ErrSignerMismatch: the signer answered with something other than the
	// certificate requested. Such a certificate is never handed out.
	ErrSignerMismatch = errors.New("certauth: signer returned something other than what was requested")
)
