package server

import (
	"context"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/store"
)

// agentChannel is the channel type OpenSSH uses to reach a forwarded agent
// (PROTOCOL, section 4.1, "auth-agent@openssh.com").
const agentChannel = "auth-agent@openssh.com"

// requestAgent decides a client's auth-agent-req: allowed only when the
// access rule says so, since a forwarded agent lets the target sign with
// the client's keys for as long as the session lasts.
func (ss *session) requestAgent(ctx context.Context, req *ssh.Request) {
	rt, ref := ss.s.route(ss.cs.conn)
	ev := store.Event{Type: "session.agent-forwarding", ConnID: ss.cs.id, SessionID: ss.id,
		SourceAddr: ss.cs.source, Identity: rt.identity, Target: rt.target.Name, Login: rt.login}
	if ref != nil || !rt.decision.AgentForwarding {
		ev.Outcome, ev.Reason = store.OutcomeDenied, "agent forwarding is not allowed by policy"
		_ = ss.s.audit(ctx, ev)
		reply(req, false)
		return
	}
	ev.Outcome, ev.Reason = store.OutcomeAllowed, "rule "+rt.decision.Rule
	if err := ss.s.audit(ctx, ev); err != nil {
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

func (s *Server) relayAgent(c *connState, nc ssh.NewChannel) {
	identity, _, _ := identityOf(c.conn)
	ev := store.Event{Type: "agent.use", ConnID: c.id, SourceAddr: c.source, Identity: identity}
	if !c.agentAllowed() {
		ev.Outcome, ev.Reason = store.OutcomeDenied, "target opened an agent channel that no session asked for"
		_ = s.audit(context.Background(), ev)
		nc.Reject(ssh.Prohibited, "agent forwarding not allowed")
		return
	}
	ch, reqs, err := c.conn.OpenChannel(agentChannel, nil)
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, "client agent unavailable")
		return
	}
	go ssh.DiscardRequests(reqs)
	up, upReqs, err := nc.Accept()
	if err != nil {
		ch.Close()
		return
	}
	go ssh.DiscardRequests(upReqs)
	ev.Outcome = store.OutcomeAllowed
	_ = s.audit(context.Background(), ev)
	s.sessions.Add(1)
	go func() {
		defer s.sessions.Done()
		splice(ch, up)
	}()
}
