package server

import (
	"context"
	"errors"
)

// Draining. Shutdown is how a node leaves a cluster for an upgrade: it stops
// taking work first and ends what is left last. In order:
//
//  1. Draining() turns true, so the readiness check fails and the load
//     balancer stops sending clients here; the listeners close, so no new
//     connection arrives.
//  2. A connection still in its handshake is refused at authentication; a
//     new session or forwarding channel on an open connection is refused
//     with ExitServerShutdown; a connection with nothing running on it is
//     closed, now or when its last channel ends.
//  3. Sessions already running go on until the deadline (ctx). The
//     certificate sweep keeps running meanwhile: a revocation still ends
//     them.
//  4. At the deadline each remaining session ends through its finish path
//     (ExitServerShutdown, a session.shutdown event, its recording closed
//     and signed), each connection with a connection.shutdown event.
//
// Shutdown returns once every session handler has written its end.

// Shutdown drains the server (see above); it returns ctx's error if the
// deadline cut sessions short.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	for _, c := range s.liveConns() {
		if c.idle() {
			s.endConn(c, ErrShutdown)
		}
	}
	err := s.ssh.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		for _, c := range s.liveConns() {
			s.endConn(c, ErrShutdown)
		}
	}
	s.stopWatching()
	s.sessions.Wait()
	s.ssh.Close()
	s.preauth.flush()
	return err
}

// Draining reports whether Shutdown has begun: the node takes no new work.
func (s *Server) Draining() bool { return s.draining.Load() }

// channelProblem is why a new channel may not start on c: the bastion is
// draining (ErrShutdown), or the certificate is no longer good
// (certProblem).
func (s *Server) channelProblem(c *connState) error {
	if s.draining.Load() {
		return ErrShutdown
	}
	return s.certProblem(c)
}

// channelClosed ends a connection whose last channel closed while the
// bastion drains: nothing will run on it again.
func (s *Server) channelClosed(c *connState) {
	if c.closeChannel() && s.draining.Load() {
		s.endConn(c, ErrShutdown)
	}
}
