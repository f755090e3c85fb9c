package certauth

import (
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// IssuedAt is when an Authority signed cert: it back-dates ValidAfter by
// a fixed skew allowance. For certificates from other CAs the result is a
// little late, which errs towards treating them as revoked.
func IssuedAt(cert *ssh.Certificate) time.Time {
	return time.Unix(int64(cert.ValidAfter), 0).Add(clockSkew)
}

// CertIdentity is the identity a certificate names: the identity@bastion
// extension, else the first word of its KeyId (as Checker.Check reads it).
func CertIdentity(cert *ssh.Certificate) string {
	if id := cert.Extensions[ExtIdentity]; id != "" {
		return id
	}
	id, _, _ := strings.Cut(cert.KeyId, " ")
	return id
}
