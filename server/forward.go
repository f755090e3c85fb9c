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
// when the certificate permits it (permit-port-forwarding) and the access
// rule allows it; the target's sshd then applies its own rules as well.
// Every attempt is audited, and none goes ahead unaudited.
func (s *Server) handleDirectTCPIP(_ *gliderssh.Server, conn *ssh.ServerConn, nc ssh.NewChannel, ctx gliderssh.Context) {
	s.sessions.Add(1)
	defer s.sessions.Done()
	cs := connStateOf(ctx)
	if cs == nil || cs.cert == nil {
		nc.Reject(ssh.Prohibited, "no verified certificate")
		return
	}
	cs.bind(conn)
	cs.openChannel()
	defer s.channelClosed(cs)
	dest, err := parsePayload[directTCPIP](nc.ExtraData())
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, "bad direct-tcpip request")
		return
	}
	pol := s.cfg.Policy.Current()
	rt, ref := s.route(cs, cs.user, pol)
	ev := store.Event{
		Type: "forward.direct-tcpip", ConnID: cs.id, SourceAddr: cs.source, Identity: cs.identity,
		Target: rt.target.Name, Login: rt.login,
		Detail: map[string]any{"host": printable(dest.Host), "port": dest.Port},
	}
	deny := func(reason string) {
		ev.Outcome, ev.Reason = store.OutcomeDenied, reason
		if err := s.audit(ctx, ev); err != nil {
			s.log.Error("refused forward not audited", "conn", cs.id, "err", err)
		}
		nc.Reject(ssh.Prohibited, reason)
	}
	switch {
	case ref != nil:
		deny(ref.msg)
		if ref.code == ExitCertificateRevoked || ref.code == ExitCertificateExpired {
			s.endConn(cs, ref.err)
		}
		return
	case !permitsOf(cs.cert).portForwarding:
		deny("the certificate does not permit port forwarding (permit-port-forwarding)")
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
	ch, reqs, err := nc.Accept()
	if err != nil {
		up.Close()
		return
	}
	splice(ch, reqs, up, upReqs)
}

// splice copies both ways until each side is done, then closes both. The
// channels' requests are discarded; every goroutine it starts ends before
// it returns.
func splice(a ssh.Channel, aReqs <-chan *ssh.Request, b ssh.Channel, bReqs <-chan *ssh.Request) {
	var copies, discards sync.WaitGroup
	cp := func(dst, src ssh.Channel) {
		defer copies.Done()
		_, _ = io.Copy(dst, src) // ends when either side closes
		_ = dst.CloseWrite()
	}
	discard := func(reqs <-chan *ssh.Request) {
		defer discards.Done()
		ssh.DiscardRequests(reqs) // ends when its channel closes
	}
	copies.Add(2)
	discards.Add(2)
	go cp(a, b)
	go cp(b, a)
	go discard(aReqs)
	go discard(bReqs)
	copies.Wait()
	a.Close()
	b.Close()
	discards.Wait()
}
