package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/store"
)

// Permission extensions the server sets on an authenticated connection.
// They are written only by verifiedKey, i.e. for the key whose possession
// the client proved.
const (
	permIdentity    = "bastion-identity"
	permGroups      = "bastion-groups"
	permSerial      = "bastion-cert-serial"
	permKeyID       = "bastion-cert-keyid"
	permFingerprint = "bastion-cert-fingerprint"
)

// offeredKey is the cheap first look at a key (gliderlabs PublicKeyHandler):
// only certificates go on to the signature step. No audit here: clients
// offer every key in their agent, and none of that is a decision yet.
func offeredKey(_ gliderssh.Context, key gliderssh.PublicKey) bool {
	_, ok := key.(*ssh.Certificate)
	return ok
}

// verifiedKey runs after the client proved possession of key
// (ssh.ServerConfig.VerifiedPublicKeyCallback). The identity is derived
// here, from the key that actually authenticated, and returned in a fresh
// Permissions value: never from state left by an earlier callback
// (CVE-2024-45337). Success binds the connection to the certificate and
// registers it, so the sweep sees it from this moment on, channel or not.
func (s *Server) verifiedKey(c *connState, conn ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	id, err := s.cfg.Checker.Check(key, conn.RemoteAddr())
	ev := store.Event{
		Type:       "auth.certificate",
		ConnID:     connIDFromMeta(conn),
		SourceAddr: conn.RemoteAddr().String(),
	}
	cert, _ := key.(*ssh.Certificate)
	if cert != nil {
		ev.Detail = map[string]any{"key_id": printable(cert.KeyId), "serial": strconv.FormatUint(cert.Serial, 10),
			"fingerprint": ssh.FingerprintSHA256(cert.Key), "user": printable(conn.User())}
	}
	if err != nil {
		// Counted per source and reason (flood.go); the rejection stands
		// whether or not it was stored.
		ev.Outcome, ev.Reason = store.OutcomeDenied, err.Error()
		s.preauth.record(ev, reasonCode(err))
		return nil, &ssh.BannerError{Err: err, Message: "bastion: certificate rejected: " + userReason(err) + "\r\n"}
	}
	if c == nil {
		return nil, errors.New("server: connection state missing")
	}
	ev.Identity = id.Name
	if s.draining.Load() {
		// The listener is closed; a handshake that was under way when the
		// drain began gets no connection to run sessions on (drain.go).
		ev.Outcome, ev.Reason = store.OutcomeDenied, ErrShutdown.Error()
		s.preauth.record(ev, "draining")
		return nil, &ssh.BannerError{Err: ErrShutdown, Message: "bastion: this node is shutting down; connect again\r\n"}
	}
	ev.Outcome = store.OutcomeAllowed
	ev.Detail["permits"] = permitsOf(cert).String()
	// The auth callback has no context; audit bounds the write itself.
	if err := s.audit(context.Background(), ev); err != nil {
		// What cannot be audited does not happen.
		return nil, &ssh.BannerError{Err: err, Message: "bastion: audit log unavailable; try again later\r\n"}
	}
	c.id, c.user, c.cert, c.identity, c.groups = connIDFromMeta(conn), conn.User(), cert, id.Name, id.Groups
	s.register(c)
	return &ssh.Permissions{Extensions: map[string]string{
		permIdentity:    id.Name,
		permGroups:      strings.Join(id.Groups, ","),
		permSerial:      strconv.FormatUint(id.Serial, 10),
		permKeyID:       id.KeyID,
		permFingerprint: id.Fingerprint,
	}}, nil
}

// certReasons are the certificate refusals a client may be told of.
var certReasons = []error{
	certauth.ErrExpired, certauth.ErrNotYetValid, certauth.ErrUnknownCA, certauth.ErrNoPrincipals,
	certauth.ErrRevoked, certauth.ErrSourceAddress, certauth.ErrCriticalOption,
	certauth.ErrNotUserCert, certauth.ErrBadSignature, certauth.ErrMissingIdentity,
}

// userReason is the part of a certificate error a client may read.
func userReason(err error) string {
	for _, known := range certReasons {
		if errors.Is(err, known) {
			return strings.TrimPrefix(known.Error(), "certauth: ")
		}
	}
	return "invalid certificate"
}

// reasonCode is a certificate refusal as a stable code, for aggregation.
func reasonCode(err error) string {
	return strings.ReplaceAll(userReason(err), " ", "-")
}

func connIDFromMeta(conn ssh.ConnMetadata) string {
	return fmt.Sprintf("%x", conn.SessionID()[:8])
}
