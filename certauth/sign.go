package certauth

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Certificate extensions bastion writes into user certificates. OpenSSH
// ignores extensions it does not know, so these are safe to add.
const (
	ExtIdentity = "identity@bastion"
	ExtGroups   = "groups@bastion"
	// ExtIssuedAt is the Unix time the certificate was issued: revoking an
	// identity revokes what was issued before, whatever a signer's
	// back-dating of ValidAfter.
	ExtIssuedAt = "issued-at@bastion"
)

// Defaults and bounds for certificate lifetimes.
const (
	DefaultUserTTL     = 15 * time.Minute
	MaxUserTTL         = 24 * time.Hour
	DefaultUpstreamTTL = 5 * time.Minute
	// clockSkew back-dates ValidAfter so a target whose clock runs a little
	// behind still accepts a certificate minted this second.
	clockSkew = 1 * time.Minute
)

// DefaultUserExtensions are the extensions ssh-keygen(1) gives a user
// certificate unless told otherwise (-O clear removes them).
func DefaultUserExtensions() map[string]string {
	return map[string]string{"permit-X11-forwarding": "", "permit-agent-forwarding": "",
		"permit-port-forwarding": "", "permit-pty": "", "permit-user-rc": ""}
}

// ErrBadRequest is wrapped by every rejected signing request.
var ErrBadRequest = errors.New("certauth: bad certificate request")

// UserRequest describes a user certificate to issue.
type UserRequest struct {
	PublicKey ssh.PublicKey
	Identity  string   // e.g. alice@example.com; required
	Login     string   // the certificate principal; defaults to the identity's local part
	Groups    []string // carried in the groups@bastion extension
	TTL       time.Duration
	// SourceAddress, if set, binds the certificate to these CIDRs or
	// addresses (comma-separated, OpenSSH's source-address option).
	SourceAddress string
	// Extensions such as permit-pty; nil means ssh-keygen's defaults
	// (DefaultUserExtensions). The bastion enforces them as sshd does, and
	// the access policy narrows them further.
	Extensions map[string]string
}

// Authority signs certificates with one CA key.
type Authority struct {
	Signer ssh.Signer
	// Clock returns the current time; if nil, time.Now is used.
	Clock func() time.Time
}

func (a *Authority) now() time.Time {
	if a.Clock != nil {
		return a.Clock()
	}
	return time.Now()
}

// PublicKey returns the CA public key, for trust lists.
func (a *Authority) PublicKey() ssh.PublicKey { return a.Signer.PublicKey() }

// SignUser issues a user certificate. KeyId is "IDENTITY serial=N" so that
// the serial shows in every sshd log line that quotes the KeyId.
func (a *Authority) SignUser(r UserRequest) (*ssh.Certificate, error) {
	cert, ttl, err := userTemplate(r, a.now())
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	cert.Serial = serial
	cert.KeyId = fmt.Sprintf("%s serial=%d", r.Identity, serial)
	return a.sign(cert, ttl)
}

// userTemplate checks r and returns the user certificate it describes,
// without serial, KeyId, validity or signature, and its lifetime. Every
// Signer builds its certificates from it, so the rules for what a user
// certificate may carry live in one place.
func userTemplate(r UserRequest, now time.Time) (*ssh.Certificate, time.Duration, error) {
	if r.PublicKey == nil {
		return nil, 0, fmt.Errorf("%w: missing public key", ErrBadRequest)
	}
	if _, ok := r.PublicKey.(*ssh.Certificate); ok {
		return nil, 0, fmt.Errorf("%w: public key is already a certificate", ErrBadRequest)
	}
	if err := validIdentity(r.Identity); err != nil {
		return nil, 0, err
	}
	ttl := r.TTL
	if ttl == 0 {
		ttl = DefaultUserTTL
	}
	if ttl < 0 || ttl > MaxUserTTL {
		return nil, 0, fmt.Errorf("%w: ttl %s outside (0, %s]", ErrBadRequest, ttl, MaxUserTTL)
	}
	login := r.Login
	if login == "" {
		login, _, _ = strings.Cut(r.Identity, "@")
	}
	ext := DefaultUserExtensions()
	if r.Extensions != nil {
		ext = make(map[string]string, len(r.Extensions))
		for k, v := range r.Extensions {
			ext[k] = v
		}
	}
	ext[ExtIdentity] = r.Identity
	ext[ExtIssuedAt] = strconv.FormatInt(now.Unix(), 10)
	if len(r.Groups) > 0 {
		ext[ExtGroups] = strings.Join(r.Groups, ",")
	}
	crit := map[string]string{}
	if r.SourceAddress != "" {
		if _, err := parseSourceAddress(r.SourceAddress); err != nil {
			return nil, 0, fmt.Errorf("%w: %v", ErrBadRequest, err)
		}
		crit["source-address"] = r.SourceAddress
	}
	return &ssh.Certificate{
		Key:             r.PublicKey,
		CertType:        ssh.UserCert,
		ValidPrincipals: []string{login},
		Permissions:     ssh.Permissions{CriticalOptions: crit, Extensions: ext},
	}, ttl, nil
}

// UpstreamRequest describes the certificate bastion presents to a target.
type UpstreamRequest struct {
	PublicKey ssh.PublicKey
	Login     string // the account on the target
	Identity  string // the person or agent behind the session
	SessionID string
	TTL       time.Duration // zero means DefaultUpstreamTTL
}

// SignUpstream issues the per-connection certificate for a target. Its
// KeyId names the identity and session, and sshd logs the KeyId on every
// accepted login, tying the target's own log back to the person.
func (a *Authority) SignUpstream(r UpstreamRequest) (*ssh.Certificate, error) {
	cert, ttl, err := upstreamTemplate(r)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	cert.Serial = serial
	return a.sign(cert, ttl)
}

// upstreamTemplate checks r and returns the upstream certificate it
// describes, without serial, validity or signature, and its lifetime.
func upstreamTemplate(r UpstreamRequest) (*ssh.Certificate, time.Duration, error) {
	if r.PublicKey == nil || r.Login == "" || r.Identity == "" || r.SessionID == "" {
		return nil, 0, fmt.Errorf("%w: upstream certificate needs key, login, identity and session", ErrBadRequest)
	}
	ttl := r.TTL
	if ttl <= 0 {
		ttl = DefaultUpstreamTTL
	}
	return &ssh.Certificate{
		Key:             r.PublicKey,
		CertType:        ssh.UserCert,
		KeyId:           fmt.Sprintf("bastion identity=%s session=%s", r.Identity, r.SessionID),
		ValidPrincipals: []string{r.Login},
		Permissions: ssh.Permissions{Extensions: map[string]string{
			"permit-pty":              "",
			"permit-port-forwarding":  "",
			"permit-agent-forwarding": "",
		}},
	}, ttl, nil
}

// sign dates cert from now for ttl and signs it with the CA key.
func (a *Authority) sign(cert *ssh.Certificate, ttl time.Duration) (*ssh.Certificate, error) {
	now := a.now()
	cert.ValidAfter = uint64(now.Add(-clockSkew).Unix())
	cert.ValidBefore = uint64(now.Add(ttl).Unix())
	if err := cert.SignCert(rand.Reader, a.Signer); err != nil {
		return nil, fmt.Errorf("certauth: sign: %w", err)
	}
	return cert, nil
}

// validIdentity rejects identities that could not be safely written into a
// KeyId, an sshd log line or an audit record.
func validIdentity(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty identity", ErrBadRequest)
	}
	if len(id) > 256 {
		return fmt.Errorf("%w: identity longer than 256 bytes", ErrBadRequest)
	}
	for _, r := range id {
		if r <= ' ' || r == 0x7f || r == ',' {
			return fmt.Errorf("%w: identity %q contains a space, comma or control character", ErrBadRequest, id)
		}
	}
	return nil
}

func newSerial() (uint64, error) {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, fmt.Errorf("certauth: serial: %w", err)
		}
		// Keep serials positive as int64 so every store can hold them.
		if s := binary.BigEndian.Uint64(b[:]) >> 1; s != 0 {
			return s, nil
		}
	}
}
