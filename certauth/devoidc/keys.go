// Portions Copyright The zitadel/oidc Contributors; Apache License 2.0
// (example/server/storage/storage.go: signingKey, publicKey).

package devoidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// signingKey is one key of the provider; it implements op.SigningKey.
type signingKey struct {
	id   string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *signingKey) ID() string                                  { return k.id }

// Key returns the private key in the form go-jose signs with.
func (k *signingKey) Key() any {
	if e, ok := k.priv.(ed25519.PrivateKey); ok {
		return e
	}
	return k.priv
}

// publicKey is the published half; it implements op.Key.
type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return p.k.alg }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.k.priv.Public() }

// newSigningKey generates a key for alg (RS256, ES256 or EdDSA).
func newSigningKey(alg jose.SignatureAlgorithm) (*signingKey, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case jose.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("devoidc: unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("devoidc: generate key: %w", err)
	}
	return &signingKey{id: randomID(8), alg: alg, priv: priv}, nil
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
