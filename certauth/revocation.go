package certauth

import (
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// IssuedAt is when cert was issued: its issued-at@bastion extension, which
// every bastion signer writes. Without it, ValidAfter: no later than the
// issue time, so a revocation of the identity errs towards covering it.
func IssuedAt(cert *ssh.Certificate) time.Time {
	if v, err := strconv.ParseInt(cert.Extensions[ExtIssuedAt], 10, 64); err == nil {
		return time.Unix(v, 0)
	}
	return time.Unix(int64(cert.ValidAfter), 0)
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
