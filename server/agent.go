package server

import (
	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/store"
)

// agentChannel is the channel type OpenSSH uses to reach a forwarded agent
// (PROTOCOL, section 4.1, "auth-agent@openssh.com").
const agentChannel = "auth-agent@openssh.com"

// requestAgent decides a client's auth-agent-req: allowed only when the
// certificate permits it (permit-agent-forwarding) and the access rule says
// so, since a forwarded agent lets the target sign with the client's keys
// for as long as the session lasts. Nothing is allowed unaudited.
func (ss *session) requestAgent(req *ssh.Request) {
	rt, ref := ss.s.route(ss.cs, ss.cs.user, ss.policy)
	switch {
	case ref != nil:
		ss.refuseRequest(req, "session.agent-forwarding", "agent forwarding refused: "+ref.msg, nil)
		return
	case !permitsOf(ss.cs.cert).agentForwarding:
		ss.refuseRequest(req, "session.agent-forwarding", "the certificate does not permit agent forwarding (permit-agent-forwarding)", nil)
		return
	case !rt.decision.AgentForwarding:
		ss.refuseRequest(req, "session.agent-forwarding", "agent forwarding is not allowed by policy", nil)
		return
	}
	ev := store.Event{Type: "session.agent-forwarding", ConnID: ss.cs.id, SessionID: ss.id, SourceAddr: ss.cs.source,
		Identity: rt.identity, Target: rt.target.Name, Login: rt.login,
		Outcome: store.OutcomeAllowed, Reason: "rule " + rt.decision.Rule}
	if err := ss.s.audit(ss.ctx, ev); err != nil {
		reply(req, false)
		return
	}
	ss.agent = true
	ss.cs.allowAgent()
	reply(req, true)
}

// relayAgentChannels carries the agent channels a target opens back to the
// client. A target that opens one unasked (no session on the connection was
// allowed forwarding) is refused and audited. The goroutine ends when the
// upstream connection closes.
func (s *Server) relayAgentChannels(c *connState, cl *ssh.Client) {
	chans := cl.HandleChannelOpen(agentChannel)
	if chans == nil {
		return // already relayed for this client
	}
	s.sessions.Add(1)
	go func() {
		defer s.sessions.Done()
		for nc := range chans {
			s.relayAgent(c, nc)
		}
	}()
}

// relayAgent carries one agent channel, audited before it opens: a use of
// the client's agent whose record cannot be written does not happen.
func (s *Server) relayAgent(c *connState, nc ssh.NewChannel) {
	ev := store.Event{Type: "agent.use", ConnID: c.id, SourceAddr: c.source, Identity: c.identity}
	client := c.serverConn()
	if !c.agentAllowed() || client == nil {
		ev.Outcome, ev.Reason = store.OutcomeDenied, "target opened an agent channel that no session asked for"
		if err := s.audit(c.ctx, ev); err != nil {
			s.log.Error("refused agent channel not audited", "conn", c.id, "err", err)
		}
		nc.Reject(ssh.Prohibited, "agent forwarding not allowed")
		return
	}
	if err := s.certProblem(c); err != nil {
		ev.Outcome, ev.Reason = store.OutcomeDenied, err.Error()
		if aerr := s.audit(c.ctx, ev); aerr != nil {
			s.log.Error("refused agent channel not audited", "conn", c.id, "err", aerr)
		}
		nc.Reject(ssh.Prohibited, "certificate no longer valid")
		return
	}
	ev.Outcome = store.OutcomeAllowed
	if err := s.audit(c.ctx, ev); err != nil {
		nc.Reject(ssh.ResourceShortage, "audit store unavailable")
		return
	}
	ch, reqs, err := client.OpenChannel(agentChannel, nil)
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, "client agent unavailable")
		return
	}
	up, upReqs, err := nc.Accept()
	if err != nil {
		ch.Close()
		return
	}
	s.sessions.Add(1)
	go func() {
		defer s.sessions.Done()
		splice(ch, reqs, up, upReqs)
	}()
}
