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
// (CVE-2024-45337).
func (s *Server) verifiedKey(conn ssh.ConnMetadata, key ssh.PublicKey, _ *ssh.Permissions, _ string) (*ssh.Permissions, error) {
	id, err := s.cfg.Checker.Check(key, conn.RemoteAddr())
	ev := store.Event{
		Type:       "auth.certificate",
		ConnID:     connIDFromMeta(conn),
		SourceAddr: conn.RemoteAddr().String(),
	}
	if cert, ok := key.(*ssh.Certificate); ok {
		ev.Detail = map[string]any{"key_id": cert.KeyId, "serial": strconv.FormatUint(cert.Serial, 10),
			"fingerprint": ssh.FingerprintSHA256(cert.Key), "user": printable(conn.User())}
	}
	if err != nil {
		ev.Outcome, ev.Reason = store.OutcomeDenied, err.Error()
		// Best effort: the rejection stands whether or not it was stored.
		_ = s.audit(context.Background(), ev)
		return nil, &ssh.BannerError{Err: err, Message: "bastion: certificate rejected: " + userReason(err) + "\r\n"}
	}
	ev.Outcome, ev.Identity = store.OutcomeAllowed, id.Name
	if err := s.audit(context.Background(), ev); err != nil {
		// What cannot be audited does not happen.
		return nil, &ssh.BannerError{Err: err, Message: "bastion: audit log unavailable; try again later\r\n"}
	}
	return &ssh.Permissions{Extensions: map[string]string{
		permIdentity:    id.Name,
		permGroups:      strings.Join(id.Groups, ","),
		permSerial:      strconv.FormatUint(id.Serial, 10),
		permKeyID:       id.KeyID,
		permFingerprint: id.Fingerprint,
	}}, nil
}

// userReason is the part of a certificate error a client may read.
func userReason(err error) string {
	for _, known := range []error{
		certauth.ErrExpired, certauth.ErrNotYetValid, certauth.ErrUnknownCA, certauth.ErrNoPrincipals,
		certauth.ErrRevoked, certauth.ErrSourceAddress, certauth.ErrCriticalOption,
		certauth.ErrNotUserCert, certauth.ErrBadSignature, certauth.ErrMissingIdentity,
	} {
		if errors.Is(err, known) {
			return strings.TrimPrefix(known.Error(), "certauth: ")
		}
	}
	return "invalid certificate"
}

// identityOf reads the identity from the permissions of the key that
// authenticated the connection.
func identityOf(conn *ssh.ServerConn) (name string, groups []string, err error) {
	if conn.Permissions == nil || conn.Permissions.Extensions[permIdentity] == "" {
		return "", nil, errors.New("connection carries no verified identity")
	}
	ext := conn.Permissions.Extensions
	if g := ext[permGroups]; g != "" {
		groups = strings.Split(g, ",")
	}
	return ext[permIdentity], groups, nil
}

func connIDFromMeta(conn ssh.ConnMetadata) string {
	return fmt.Sprintf("%x", conn.SessionID()[:8])
}
