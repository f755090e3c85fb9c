package policies

import (
	"path"
	"slices"

	"github.com/bastion-ssh/bastion/masking"
)

// Policy is a validated, immutable policy document. The zero value denies
// everything.
type Policy struct {
	// Access rules, evaluated in order; the first rule that matches the
	// identity, login and target decides. No match means deny.
	Access []AccessRule `yaml:"access"`
	// EnvAllow lists environment variable names (shell-style patterns such
	// as LC_*) a client may pass to the target. Empty means none.
	EnvAllow []string `yaml:"env_allow"`
	// Masking configures PHI masking of session output. Masking is always
	// on; this tunes the recognizers (see masking.Config).
	Masking masking.Config `yaml:"masking"`
	// Files sets, per remote path, whether sftp and scp transfers pass,
	// are served masked or are blocked (see Files). Empty passes all.
	Files Files `yaml:"files"`
	// Commands judges every exec command: allow, hold for review, or deny
	// (see Commands). Empty allows what can be judged.
	Commands Commands `yaml:"commands"`
}

// AccessRule grants the listed identities or groups the listed logins on the
// listed targets. Targets and logins accept shell-style patterns ("web-*").
type AccessRule struct {
	Name       string   `yaml:"name"`
	Identities []string `yaml:"identities"`
	Groups     []string `yaml:"groups"`
	Targets    []string `yaml:"targets"`
	Logins     []string `yaml:"logins"`
	// PortForwarding allows direct-tcpip channels (ssh -L) through the
	// target. Off unless set.
	PortForwarding bool `yaml:"port_forwarding"`
	// AgentForwarding allows auth-agent-req. Off unless set.
	AgentForwarding bool `yaml:"agent_forwarding"`
	// Interactive is what a pty shell may do: allow, guarded (every
	// command judged by the command rules) or deny. Empty means guarded
	// once the policy has command rules (interactive.go).
	Interactive Interactive `yaml:"interactive"`
}

// Request is what the server knows when a session asks to start.
type Request struct {
	Identity string
	Groups   []string
	Login    string
	Target   string
}

// Decision is the outcome of Decide. Rule names the rule that allowed the
// request, for the audit log; Reason says why a request was denied.
type Decision struct {
	Allowed         bool
	Rule            string
	Reason          string
	PortForwarding  bool
	AgentForwarding bool
	Interactive     Interactive
}

// Decide evaluates the access rules for r. It never returns an allow for an
// empty identity, login or target.
func (p *Policy) Decide(r Request) Decision {
	if p == nil || r.Identity == "" || r.Login == "" || r.Target == "" {
		return Decision{Reason: "incomplete request"}
	}
	for _, rule := range p.Access {
		if !rule.matchesSubject(r.Identity, r.Groups) {
			continue
		}
		if !matchAny(rule.Targets, r.Target) || !matchAny(rule.Logins, r.Login) {
			continue
		}
		return Decision{
			Allowed:         true,
			Rule:            rule.Name,
			PortForwarding:  rule.PortForwarding,
			AgentForwarding: rule.AgentForwarding,
			Interactive:     p.interactiveFor(rule),
		}
	}
	return Decision{Reason: "no access rule allows " + r.Login + "@" + r.Target + " for " + r.Identity}
}

// EnvAllowed reports whether a client may set the environment variable name.
func (p *Policy) EnvAllowed(name string) bool {
	return p != nil && matchAny(p.EnvAllow, name)
}

func (rule *AccessRule) matchesSubject(identity string, groups []string) bool {
	if slices.Contains(rule.Identities, identity) {
		return true
	}
	for _, g := range groups {
		if slices.Contains(rule.Groups, g) {
			return true
		}
	}
	return false
}

// matchAny reports whether name matches one of the shell-style patterns.
// Patterns are validated at load time, so match errors cannot occur here.
func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}
