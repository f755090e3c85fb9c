package policies

import "slices"

// Reach is a target an identity may reach, with the login patterns the
// matching rules allow there (shell patterns, e.g. "postgres" or "app-*").
type Reach struct {
	Target string   `json:"target"`
	Logins []string `json:"logins"`
}

// Reachable lists, in the order given, the targets that some access rule
// lets identity (with groups) reach, each with the login patterns of every
// rule that does. It answers "where may I go?" for a person who typed a
// wrong or no target; Decide remains the only authority on a login.
func (p *Policy) Reachable(identity string, groups []string, targets []string) []Reach {
	if p == nil || identity == "" {
		return nil
	}
	var out []Reach
	for _, t := range targets {
		var logins []string
		for _, rule := range p.Access {
			if !rule.matchesSubject(identity, groups) || !matchAny(rule.Targets, t) {
				continue
			}
			for _, l := range rule.Logins {
				if !slices.Contains(logins, l) {
					logins = append(logins, l)
				}
			}
		}
		if len(logins) > 0 {
			out = append(out, Reach{Target: t, Logins: logins})
		}
	}
	return out
}
