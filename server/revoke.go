package server

import (
	"context"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/store"
)

// RevocationCheckInterval is how often live connections are checked
// against the revocation list; new connections are checked at login.
const RevocationCheckInterval = 5 * time.Second

// certKey holds, in a connection's context, the certificate that
// authenticated it (set only by verifiedKey, for a proven key).
type certKey struct{}

// connCert returns the certificate that authenticated the connection.
func connCert(ctx gliderssh.Context) *ssh.Certificate {
	c, _ := ctx.Value(certKey{}).(*ssh.Certificate)
	return c
}

// sweepRevoked ends every live connection whose certificate has been
// revoked since it logged in: running sessions get a message, the
// certificate-revoked exit status and an audit event, then the connection
// is closed.
func (s *Server) sweepRevoked() {
	if s.cfg.Checker.IsRevoked == nil {
		return
	}
	s.mu.Lock()
	var revoked []*connState
	for _, c := range s.conns {
		if c.cert != nil && s.cfg.Checker.IsRevoked(c.cert) {
			revoked = append(revoked, c)
		}
	}
	s.mu.Unlock()
	for _, c := range revoked {
		identity, _, _ := identityOf(c.conn)
		_ = s.audit(context.Background(), store.Event{
			Type: "connection.revoked", Outcome: store.OutcomeDenied, ConnID: c.id, SourceAddr: c.source,
			Identity: identity, Reason: certauth.ErrRevoked.Error(),
			Detail: map[string]any{"serial": c.conn.Permissions.Extensions[permSerial]},
		})
		for _, ss := range c.liveSessions() {
			ss.terminate(ExitCertificateRevoked, "certificate revoked; session ended", "session.revoked", certauth.ErrRevoked)
		}
		c.conn.Close()
	}
}

// watchRevocations runs sweepRevoked until the server closes.
func (s *Server) watchRevocations() {
	defer s.sessions.Done()
	t := time.NewTicker(RevocationCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
			s.sweepRevoked()
		}
	}
}
