package server

import (
	"errors"
	"fmt"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/policies"
)

// route is where an authenticated connection may go, and under which rule.
type route struct {
	identity string
	groups   []string
	target   config.Target
	login    string
	decision policies.Decision
}

// route resolves the connection's user name to a target and login and asks
// the policy snapshot pol. The certificate is re-checked first: a revoked
// or expired certificate reaches no target, and neither does anything new
// while the bastion drains.
func (s *Server) route(c *connState, user string, pol *policies.Policy) (route, *endCause) {
	var rt route
	if err := s.channelProblem(c); err != nil {
		ref := endCauseFor(err, false)
		return rt, &ref
	}
	rt.identity, rt.groups = c.identity, c.groups
	addr, err := ParseAddress(user)
	if err != nil {
		return rt, &endCause{code: ExitBadUsername, event: "session.denied",
			msg: "bad user name: " + err.Error() + s.targetsHint(rt.identity, rt.groups), err: err}
	}
	t, ok := s.cfg.Targets(addr.Target)
	if !ok {
		return rt, &endCause{code: ExitUnknownTarget, event: "session.denied",
			msg: fmt.Sprintf("unknown target %q", addr.Target) + s.targetsHint(rt.identity, rt.groups), err: fmt.Errorf("unknown target %q", addr.Target)}
	}
	rt.target = t
	rt.login = addr.Login
	if rt.login == "" {
		rt.login = t.Login
	}
	if rt.login == "" {
		return rt, &endCause{code: ExitBadUsername, event: "session.denied",
			msg: "no login given and target " + t.Name + " has no default (use LOGIN@" + t.Name + ")",
			err: errors.New("no login")}
	}
	rt.decision = pol.Decide(policies.Request{
		Identity: rt.identity, Groups: rt.groups, Login: rt.login, Target: t.Name,
	})
	if !rt.decision.Allowed {
		return rt, &endCause{code: ExitAccessDenied, event: "session.denied",
			msg: fmt.Sprintf("access denied: %s may not log in as %s on %s", rt.identity, rt.login, t.Name),
			err: errors.New(rt.decision.Reason)}
	}
	return rt, nil
}

func upstreamRefusal(err error) endCause {
	switch {
	case errors.Is(err, ErrHostKeyMismatch):
		return endCause{code: ExitHostKeyMismatch, event: "upstream.hostkey",
			msg: "target host key verification failed; refusing to connect", err: err}
	case errors.Is(err, ErrUpstreamAuth):
		return endCause{code: ExitUpstreamAuth, event: "upstream.auth",
			msg: "the target refused the bastion's credential", err: err}
	case errors.Is(err, ErrTargetUnreachable):
		return endCause{code: ExitTargetUnreachable, event: "upstream.unreachable",
			msg: "target unreachable", err: err}
	}
	if errors.Is(err, certauth.ErrRevoked) || errors.Is(err, certauth.ErrExpired) || errors.Is(err, ErrShutdown) {
		return endCauseFor(err, false) // the connection ended while the dial ran
	}
	return endCause{code: ExitInternal, event: "upstream.failed", msg: "internal error reaching the target", err: err}
}
