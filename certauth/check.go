package certauth

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// One sentinel per reason a certificate is refused, so the audit log can
// tell "expired" from "revoked" (errors.Is in callers).
var (
	ErrNotCertificate  = errors.New("certauth: key is not a certificate")
	ErrNotUserCert     = errors.New("certauth: not a user certificate")
	ErrUnknownCA       = errors.New("certauth: certificate signed by an unknown CA")
	ErrNoPrincipals    = errors.New("certauth: certificate has no principals")
	ErrNotYetValid     = errors.New("certauth: certificate not yet valid")
	ErrExpired         = errors.New("certauth: certificate has expired")
	ErrRevoked         = errors.New("certauth: certificate has been revoked")
	ErrSourceAddress   = errors.New("certauth: connection not from the certificate's source-address")
	ErrCriticalOption  = errors.New("certauth: unsupported critical option")
	ErrBadSignature    = errors.New("certauth: certificate signature invalid")
	ErrMissingIdentity = errors.New("certauth: certificate names no identity")
)

// Identity is who a verified certificate speaks for.
type Identity struct {
	Name        string   // identity@bastion extension, else the KeyId
	Groups      []string // groups@bastion extension
	Principals  []string
	Serial      uint64
	KeyID       string
	Fingerprint string // SHA256 fingerprint of the certified key
	ValidBefore time.Time
}

// Checker verifies user certificates presented to the front server.
type Checker struct {
	// Authorities are the trusted user CA keys; several during rotation.
	Authorities []ssh.PublicKey
	// IsRevoked reports whether a certificate was revoked; if nil, none is.
	IsRevoked func(cert *ssh.Certificate) bool
	// Clock returns the current time; if nil, time.Now is used.
	Clock func() time.Time
}

// Check verifies key as a user certificate presented from addr and returns
// the identity it carries. The checks follow OpenSSH's order in
// auth2-pubkey.c: CA, validity, principals, critical options.
func (c *Checker) Check(key ssh.PublicKey, addr net.Addr) (*Identity, error) {
	cert, ok := key.(*ssh.Certificate)
	if !ok {
		return nil, ErrNotCertificate
	}
	if cert.CertType != ssh.UserCert {
		return nil, ErrNotUserCert
	}
	if !c.isAuthority(cert.SignatureKey) {
		return nil, ErrUnknownCA
	}
	now := time.Now()
	if c.Clock != nil {
		now = c.Clock()
	}
	unix := uint64(now.Unix())
	if unix < cert.ValidAfter {
		return nil, fmt.Errorf("%w (valid after %s)", ErrNotYetValid, time.Unix(int64(cert.ValidAfter), 0).UTC().Format(time.RFC3339))
	}
	if cert.ValidBefore != ssh.CertTimeInfinity && unix >= cert.ValidBefore {
		return nil, fmt.Errorf("%w (at %s)", ErrExpired, time.Unix(int64(cert.ValidBefore), 0).UTC().Format(time.RFC3339))
	}
	if len(cert.ValidPrincipals) == 0 {
		return nil, ErrNoPrincipals
	}
	for opt, val := range cert.CriticalOptions {
		if opt != "source-address" {
			// OpenSSH refuses certificates with unknown critical options;
			// force-command is meaningless at a proxy, so refuse it too.
			return nil, fmt.Errorf("%w %q", ErrCriticalOption, opt)
		}
		if err := checkSourceAddress(addr, val); err != nil {
			return nil, err
		}
	}
	// Signature last: it is the expensive check.
	verifier := ssh.CertChecker{
		IsUserAuthority: func(auth ssh.PublicKey) bool { return c.isAuthority(auth) },
		Clock:           func() time.Time { return now },
		// Checked above, against the real remote address.
		SupportedCriticalOptions: []string{"source-address"},
	}
	if err := verifier.CheckCert(cert.ValidPrincipals[0], cert); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if c.IsRevoked != nil && c.IsRevoked(cert) {
		return nil, fmt.Errorf("%w (serial %d)", ErrRevoked, cert.Serial)
	}
	id := &Identity{
		Name:        cert.Extensions[ExtIdentity],
		Principals:  cert.ValidPrincipals,
		Serial:      cert.Serial,
		KeyID:       cert.KeyId,
		Fingerprint: ssh.FingerprintSHA256(cert.Key),
		ValidBefore: time.Unix(int64(cert.ValidBefore), 0),
	}
	if id.Name == "" {
		id.Name, _, _ = strings.Cut(cert.KeyId, " ")
	}
	if validIdentity(id.Name) != nil {
		return nil, ErrMissingIdentity
	}
	if g := cert.Extensions[ExtGroups]; g != "" {
		id.Groups = strings.Split(g, ",")
	}
	return id, nil
}

func (c *Checker) isAuthority(k ssh.PublicKey) bool {
	b := k.Marshal()
	for _, a := range c.Authorities {
		if bytes.Equal(a.Marshal(), b) {
			return true
		}
	}
	return false
}

// checkSourceAddress mirrors OpenSSH's source-address critical option: a
// comma-separated list of CIDRs or addresses the connection must come from.
func checkSourceAddress(addr net.Addr, list string) error {
	nets, err := parseSourceAddress(list)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSourceAddress, err)
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return fmt.Errorf("%w: remote address %v is not TCP", ErrSourceAddress, addr)
	}
	for _, n := range nets {
		if n.Contains(tcp.IP) {
			return nil
		}
	}
	return fmt.Errorf("%w (%s not in %s)", ErrSourceAddress, tcp.IP, list)
}

func parseSourceAddress(list string) ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if !strings.Contains(s, "/") {
			ip := net.ParseIP(s)
			if ip == nil {
				return nil, fmt.Errorf("bad source-address %q", s)
			}
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("bad source-address %q", s)
		}
		nets = append(nets, n)
	}
	return nets, nil
}
