package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	gliderssh "github.com/gliderlabs/ssh"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/store"
)

// Every connection is bound by the certificate that authenticated it: it
// is registered at authentication, each new channel re-checks the
// certificate, and a sweep ends connections (idle or not, with their
// sessions) whose certificate has expired or been revoked since.

// DefaultSweepInterval is how often live connections are checked against
// the revocation list and their certificates' expiry when Config leaves
// SweepInterval zero.
const DefaultSweepInterval = 5 * time.Second

// endConnGrace bounds how long ending a connection waits for its sessions
// to tell their clients why, before the connection is closed regardless
// (a client that stopped reading must not hold the connection open).
const endConnGrace = 5 * time.Second

// Causes of connections the bastion ends other than by their certificate.
var (
	ErrShutdown = errors.New("server: bastion shutting down")
	ErrIdle     = errors.New("server: connection idle past the idle timeout")
)

// ErrRevocationUnknown means the revocation list could not be read: a new
// channel is refused (fail closed), a running connection is left until the
// next check can tell.
var ErrRevocationUnknown = errors.New("server: revocation status unavailable")

// revocationLookupTimeout bounds one revocation lookup.
const revocationLookupTimeout = 5 * time.Second

// onConnect takes a new TCP connection: its PROXY protocol header if it
// comes from a trusted load balancer (proxyheader.go), the per-source limit
// on the client's address (flood.go), then the connection's state, and a
// handshake deadline, so that a client that connects and says nothing does
// not hold a slot forever.
func (s *Server) onConnect(ctx gliderssh.Context, nc net.Conn) net.Conn {
	deadline := s.now().Add(s.cfg.HandshakeTimeout)
	peer := nc.RemoteAddr().String()
	nc, err := s.acceptProxyHeader(nc, deadline)
	if err != nil {
		// Counted against the balancer: there is no client address to name.
		code := proxyReasonCode(err)
		s.preauth.record(store.Event{Type: "connection.failed", Outcome: store.OutcomeDenied,
			SourceAddr: peer, Reason: code + ": " + printable(err.Error())}, code)
		return nil
	}
	source := nc.RemoteAddr().String()
	if !s.sources.acquire(source) {
		s.preauth.count(source, "connection.limited", "per-source connection limit reached")
		return nil // gliderlabs closes it
	}
	c := &connState{source: source, ctx: ctx, live: map[*session]struct{}{}}
	tc := &trackedConn{Conn: nc, now: s.now, onClose: func() {
		s.sources.release(source)
		s.forget(c)
	}}
	tc.active.Store(s.now().UnixNano())
	c.nc = tc
	ctx.SetValue(connStateKey{}, c)
	hc := &handshakeConn{Conn: tc, ctx: ctx, deadline: deadline}
	if err := tc.SetDeadline(hc.deadline); err != nil {
		return nil // the connection is already gone
	}
	return hc
}

// certProblem re-checks the connection's certificate now: an error
// wrapping certauth.ErrExpired or certauth.ErrRevoked, or nil. The
// revocation lookup may hit the database; no lock is held.
func (s *Server) certProblem(c *connState) error {
	if c.cert == nil {
		return errors.New("connection carries no verified certificate")
	}
	if exp := c.certExpiry(); !exp.IsZero() && !s.now().Before(exp) {
		return fmt.Errorf("%w (at %s)", certauth.ErrExpired, exp.UTC().Format(time.RFC3339))
	}
	revoked := false
	switch {
	case s.cfg.Revoked != nil:
		ctx, cancel := context.WithTimeout(context.Background(), revocationLookupTimeout)
		defer cancel()
		var err error
		if revoked, err = s.cfg.Revoked(ctx, c.cert); err != nil {
			return fmt.Errorf("%w: %v", ErrRevocationUnknown, err)
		}
	case s.cfg.Checker.IsRevoked != nil:
		revoked = s.cfg.Checker.IsRevoked(c.cert)
	}
	if revoked {
		return fmt.Errorf("%w (serial %d)", certauth.ErrRevoked, c.cert.Serial)
	}
	return nil
}

// endCauseFor is how a certificate problem (or the shutdown) ends a running session (started)
// or refuses a new one.
func endCauseFor(err error, started bool) endCause {
	verb := "refused"
	if started {
		verb = "ended"
	}
	switch {
	case errors.Is(err, certauth.ErrRevoked):
		return endCause{code: ExitCertificateRevoked, event: "session.revoked", err: err,
			msg: "certificate revoked; session " + verb}
	case errors.Is(err, certauth.ErrExpired):
		return endCause{code: ExitCertificateExpired, event: "session.expired", err: err,
			msg: "certificate expired; session " + verb}
	case errors.Is(err, ErrShutdown):
		return endCause{code: ExitServerShutdown, event: "session.shutdown", err: err,
			msg: "the bastion is shutting down; session " + verb}
	case errors.Is(err, ErrIdle):
		return endCause{code: ExitIdleTimeout, event: "session.idle", err: err,
			msg: "connection idle too long; session " + verb}
	case errors.Is(err, ErrRevocationUnknown):
		return endCause{code: ExitInternal, event: "session.failed", err: err,
			msg: "revocation status unavailable; session " + verb}
	}
	return endCause{code: ExitInternal, event: "session.denied", err: err, msg: "no verified certificate; session " + verb}
}

// sweep checks every registered connection and ends those whose
// certificate is no longer good, or that have been idle past the idle
// timeout. The server lock is held only to copy the list; the lookups and
// the ending run outside it.
func (s *Server) sweep() {
	for _, c := range s.liveConns() {
		err := s.certProblem(c)
		if errors.Is(err, ErrRevocationUnknown) {
			// Not a revocation: the next check decides. New channels are
			// refused meanwhile.
			s.log.Error("revocation status unavailable; connection kept until the next check", "conn", c.id, "err", err)
			continue
		}
		if err == nil && s.cfg.IdleTimeout > 0 && s.now().Sub(c.nc.idleSince()) >= s.cfg.IdleTimeout {
			err = fmt.Errorf("%w (%s)", ErrIdle, s.cfg.IdleTimeout)
		}
		if err != nil {
			s.endConn(c, err)
		}
	}
}

// endConn ends a connection whose certificate failed: an audit event, each
// running session ended through its finish path (message, exit status,
// event), then the connection closed. It returns at once; the ending runs
// on its own goroutine, owned by the server, bounded by endConnGrace. A
// connection is ended once, whoever notices first.
func (s *Server) endConn(c *connState, err error) {
	sessions, first := c.end(err)
	if !first {
		return
	}
	s.sessions.Add(1)
	go func() {
		defer s.sessions.Done()
		typ := "connection.revoked"
		switch {
		case errors.Is(err, certauth.ErrExpired):
			typ = "connection.expired"
		case errors.Is(err, ErrShutdown):
			typ = "connection.shutdown"
		case errors.Is(err, ErrIdle):
			typ = "connection.idle"
		}
		ev := store.Event{Type: typ, Outcome: store.OutcomeDenied, ConnID: c.id, SourceAddr: c.source,
			Identity: c.identity, Reason: err.Error(), Detail: map[string]any{"sessions": len(sessions)}}
		if c.cert != nil {
			ev.Detail["serial"] = fmt.Sprint(c.cert.Serial)
		}
		// No request owns this write; audit bounds it with its deadline.
		if aerr := s.audit(context.Background(), ev); aerr != nil {
			// Ending the connection is the safe action: it happens whether
			// or not its record could be written (audit logged the failure).
			s.log.Error("connection ended without its audit event", "conn", c.id, "err", aerr)
		}
		cause := endCauseFor(err, true)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for _, ss := range sessions {
				ss.end(cause)
			}
		}()
		grace, cancel := context.WithTimeout(context.Background(), endConnGrace)
		defer cancel()
		select {
		case <-done:
		case <-grace.Done():
		}
		// Closed under a client still answering our channel closes, the
		// socket resets, and an OpenSSH client whose write fails exits 255
		// before it reads the exit status already on its way: the client
		// closes its side first (within the same grace).
		for _, ss := range sessions {
			select {
			case <-ss.clientClosed:
			case <-grace.Done():
			}
		}
		c.nc.Close()
		<-done // the writes fail once the connection is closed
	}()
}

// watchCertificates runs the sweep until the server closes.
func (s *Server) watchCertificates() {
	defer s.sessions.Done()
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-s.recheck:
			s.sweep()
		case <-t.C:
			s.sweep()
			s.preauth.flush()
		}
	}
}

// Recheck runs the sweep now instead of at its next tick: a revocation
// was just written, perhaps by another bastion sharing the store
// (store.Changes). It does not wait; requests while one is pending
// coalesce.
func (s *Server) Recheck() {
	select {
	case s.recheck <- struct{}{}:
	default:
	}
}
