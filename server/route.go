package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/policies"
	"github.com/bastion-ssh/bastion/store"
)

// route is where an authenticated connection may go, and under which rule.
type route struct {
	identity string
	groups   []string
	target   config.Target
	login    string
	decision policies.Decision
}

// refusal is a session the bastion will not run: what the client reads,
// the exit status it gets, and the audit event written.
type refusal struct {
	code  int
	msg   string // shown to the client; never internal error text
	event string // audit event type
	cause error  // for the audit record
}

// route resolves the connection's user name to a target and login and asks
// the policy, which is read fresh so a change applies to the next session.
func (s *Server) route(conn *ssh.ServerConn) (route, *refusal) {
	var rt route
	id, groups, err := identityOf(conn)
	if err != nil {
		return rt, &refusal{code: ExitInternal, event: "session.denied", msg: "no verified identity", cause: err}
	}
	rt.identity, rt.groups = id, groups
	addr, err := ParseAddress(conn.User())
	if err != nil {
		return rt, &refusal{code: ExitBadUsername, event: "session.denied",
			msg: "bad user name: " + err.Error() + s.targetsHint(rt.identity, rt.groups), cause: err}
	}
	t, ok := s.cfg.Targets(addr.Target)
	if !ok {
		return rt, &refusal{code: ExitUnknownTarget, event: "session.denied",
			msg: fmt.Sprintf("unknown target %q", addr.Target) + s.targetsHint(rt.identity, rt.groups), cause: fmt.Errorf("unknown target %q", addr.Target)}
	}
	rt.target = t
	rt.login = addr.Login
	if rt.login == "" {
		rt.login = t.Login
	}
	if rt.login == "" {
		return rt, &refusal{code: ExitBadUsername, event: "session.denied",
			msg:   "no login given and target " + t.Name + " has no default (use LOGIN@" + t.Name + ")",
			cause: errors.New("no login")}
	}
	rt.decision = s.cfg.Policy.Current().Decide(policies.Request{
		Identity: rt.identity, Groups: rt.groups, Login: rt.login, Target: t.Name,
	})
	if !rt.decision.Allowed {
		return rt, &refusal{code: ExitAccessDenied, event: "session.denied",
			msg:   fmt.Sprintf("access denied: %s may not log in as %s on %s", rt.identity, rt.login, t.Name),
			cause: errors.New(rt.decision.Reason)}
	}
	return rt, nil
}

func upstreamRefusal(err error) refusal {
	switch {
	case errors.Is(err, ErrHostKeyMismatch):
		return refusal{code: ExitHostKeyMismatch, event: "upstream.hostkey",
			msg: "target host key verification failed; refusing to connect", cause: err}
	case errors.Is(err, ErrUpstreamAuth):
		return refusal{code: ExitUpstreamAuth, event: "upstream.auth",
			msg: "the target refused the bastion's credential", cause: err}
	case errors.Is(err, ErrTargetUnreachable):
		return refusal{code: ExitTargetUnreachable, event: "upstream.unreachable",
			msg: "target unreachable", cause: err}
	}
	return refusal{code: ExitInternal, event: "upstream.failed", msg: "internal error reaching the target", cause: err}
}

// refuse answers the start request and ends the session before anything
// ran on the target: message on stderr, exit status, audit event.
func (ss *session) refuse(ctx context.Context, req *ssh.Request, r refusal) {
	ss.mu.Lock()
	ss.ended = true
	code := r.code
	ss.exitStatus = &code
	cause := r.msg
	if r.cause != nil {
		cause = r.cause.Error()
	}
	ss.endReason = r.event + ": " + cause
	ss.mu.Unlock()

	ev := ss.event(r.event, store.OutcomeDenied, cause)
	ev.Detail["exit_status"] = r.code
	if r.code == ExitInternal || r.code == ExitRecordingFailed {
		ev.Outcome = store.OutcomeError
	}
	_ = ss.s.audit(ctx, ev)
	ss.log.Info("session refused", "reason", r.event, "cause", cause)

	reply(req, true)
	fmt.Fprintf(ss.ch.Stderr(), "bastion: %s%s", strings.ReplaceAll(r.msg, "\n", ss.newline()), ss.newline())
	_, _ = ss.ch.SendRequest("exit-status", false, exitStatusPayload(r.code))
	_ = ss.ch.CloseWrite()
	_ = ss.ch.Close()
	if ss.rec != nil {
		_ = ss.rec.Marker("refused: " + r.msg)
		ss.finish()
	}
}
