package recorder

import (
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// member is one member of a canonical JSON object: a string or an integer.
type member struct {
	key   string
	str   string
	num   int64
	isNum bool
}

func str(key, v string) member { return member{key: key, str: v} }
func num(key string, v int64) member {
	return member{key: key, num: v, isNum: true}
}

// canonical encodes members as one JSON object in the JSON Canonicalization
// Scheme (RFC 8785): members sorted by key, no white space, strings escaped
// minimally, invalid UTF-8 replaced by U+FFFD. Keys are ASCII, so byte order equals the UTF-16 order the RFC
// asks for; integers stay below 2^53, so their decimal form is canonical.
func canonical(members []member) []byte {
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
	b := []byte{'{'}
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, []byte(m.key))
		b = append(b, ':')
		if m.isNum {
			b = strconv.AppendInt(b, m.num, 10)
		} else {
			// Valid UTF-8 only, so that decoding and re-encoding gives the
			// same bytes.
			b = appendJSONString(b, []byte(strings.ToValidUTF8(m.str, "\uFFFD")))
		}
	}
	return append(b, '}')
}

// signerKey returns the Ed25519 public key of s, or an error when s is not an
// Ed25519 signer. A nil s yields a nil key.
func signerKey(s crypto.Signer) (ed25519.PublicKey, error) {
	if s == nil {
		return nil, nil
	}
	pub, ok := s.Public().(ed25519.PublicKey)
	if !ok || len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("recorder: signer must be Ed25519, got %T", s.Public())
	}
	return pub, nil
}

// signCanonical signs msg with s (pure Ed25519, no pre-hash) and returns the
// base64 signature.
func signCanonical(s crypto.Signer, msg []byte) (string, error) {
	sig, err := s.Sign(nil, msg, crypto.Hash(0))
	if err != nil {
		return "", fmt.Errorf("recorder: sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// checkSignature reports whether key and sig, as stored in a statement, are
// pub's valid signature over msg.
func checkSignature(pub ed25519.PublicKey, key, sig string, msg []byte) error {
	if sig == "" {
		return fmt.Errorf("%w: not signed", ErrBadSignature)
	}
	if key != base64.StdEncoding.EncodeToString(pub) {
		return fmt.Errorf("%w: signed by key %q, not the expected key", ErrBadSignature, key)
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || !ed25519.Verify(pub, msg, raw) {
		return fmt.Errorf("%w: signature does not match", ErrBadSignature)
	}
	return nil
}
