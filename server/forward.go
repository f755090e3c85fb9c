package server

import (
	"fmt"
	"io"
	"sync"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/store"
)

// directTCPIP is the payload of a "direct-tcpip" channel open (RFC 4254
// section 7.2).
type directTCPIP struct {
	Host       string
	Port       uint32
	OriginHost string
	OriginPort uint32
}

// handleDirectTCPIP proxies `ssh -L` forwarding through the target, only
// when the access rule allows it; the target's sshd then applies its own
// rules as well. Every attempt is audited.
func (s *Server) handleDirectTCPIP(_ *gliderssh.Server, conn *ssh.ServerConn, nc ssh.NewChannel, ctx gliderssh.Context) {
	s.sessions.Add(1)
	defer s.sessions.Done()
	cs := s.conn(ctx, conn)
	dest, err := parsePayload[directTCPIP](nc.ExtraData())
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, "bad direct-tcpip request")
		return
	}
	rt, ref := s.route(conn)
	ev := store.Event{
		Type: "forward.direct-tcpip", ConnID: cs.id, SourceAddr: cs.source, Identity: rt.identity,
		Target: rt.target.Name, Login: rt.login,
		Detail: map[string]any{"host": printable(dest.Host), "port": dest.Port},
	}
	deny := func(reason string) {
		ev.Outcome, ev.Reason = store.OutcomeDenied, reason
		_ = s.audit(ctx, ev)
		nc.Reject(ssh.Prohibited, reason)
	}
	switch {
	case ref != nil:
		deny(ref.msg)
		return
	case !rt.decision.PortForwarding:
		deny("port forwarding is not allowed by policy")
		return
	}
	ev.Outcome, ev.Reason = store.OutcomeAllowed, "rule "+rt.decision.Rule
	if err := s.audit(ctx, ev); err != nil {
		nc.Reject(ssh.ResourceShortage, "audit store unavailable")
		return
	}
	cl, fresh, err := cs.dial(ctx, s.cfg.Upstream, DialRequest{
		Target: rt.target, Login: rt.login, Identity: rt.identity, SessionID: cs.id,
	})
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, upstreamRefusal(err).msg)
		return
	}
	if fresh {
		s.relayAgentChannels(cs, cl)
	}
	up, upReqs, err := cl.OpenChannel("direct-tcpip", nc.ExtraData())
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, fmt.Sprintf("target refused forwarding: %v", err))
		return
	}
	go ssh.DiscardRequests(upReqs)
	ch, reqs, err := nc.Accept()
	if err != nil {
		up.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	splice(ch, up)
}

// splice copies both ways until each side is done, then closes both.
func splice(a, b ssh.Channel) {
	var wg sync.WaitGroup
	wg.Add(2)
	cp := func(dst, src ssh.Channel) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		_ = dst.CloseWrite()
	}
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
	a.Close()
	b.Close()
}
