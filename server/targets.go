package server

import (
	"fmt"
	"strings"
)

// addressingHelp is the expected form of the SSH user name, shown with
// every refusal caused by a user name that names no usable target.
const addressingHelp = "the user name is LOGIN@TARGET (ssh LOGIN@TARGET@BASTION), or TARGET for its default login"

// targetsHint answers "where may I go?" for someone who typed a wrong
// target, a malformed user name, or none at all (plain `ssh bastion`
// sends the local user name): the expected form, and the targets and
// logins this identity may reach under the current policy, like `tsh ls`.
// Decisions are still made only by route; this is advice. Lines are
// separated by "\n" (refuse turns them into what the terminal needs).
func (s *Server) targetsHint(identity string, groups []string) string {
	var b strings.Builder
	b.WriteString("\n  " + addressingHelp)
	if s.cfg.TargetNames == nil {
		return b.String()
	}
	reach := s.cfg.Policy.Current().Reachable(identity, groups, s.cfg.TargetNames())
	if len(reach) == 0 {
		fmt.Fprintf(&b, "\n  %s may reach no target under the current policy", identity)
		return b.String()
	}
	b.WriteString("\n  targets you may reach (also: bastion targets):")
	width := 0
	for _, r := range reach {
		width = max(width, len(r.Target))
	}
	for _, r := range reach {
		fmt.Fprintf(&b, "\n    %-*s  logins: %s", width, r.Target, strings.Join(r.Logins, ", "))
		if t, ok := s.cfg.Targets(r.Target); ok && t.Login != "" {
			fmt.Fprintf(&b, " (default %s)", t.Login)
		}
	}
	return b.String()
}
