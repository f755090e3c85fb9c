package policies

import "fmt"

// Interactive says what an access rule lets a pty shell do.
type Interactive string

const (
	// InteractiveAllow runs the login shell as it is: command rules
	// apply to exec only.
	InteractiveAllow Interactive = "allow"
	// InteractiveGuarded runs bash with the bastion's hook, which has
	// every command judged by the command rules before it runs.
	InteractiveGuarded Interactive = "guarded"
	// InteractiveDeny refuses shells; exec is still judged.
	InteractiveDeny Interactive = "deny"
)

// interactiveFor resolves a rule's setting: empty means guarded once the
// policy has command rules, allow otherwise.
func (p *Policy) interactiveFor(rule AccessRule) Interactive {
	if rule.Interactive != "" {
		return rule.Interactive
	}
	if p.Commands.Configured() {
		return InteractiveGuarded
	}
	return InteractiveAllow
}

func checkInteractive(field string, v Interactive) error {
	switch v {
	case "", InteractiveAllow, InteractiveGuarded, InteractiveDeny:
		return nil
	}
	return fmt.Errorf("%w: %s.interactive: %q is not allow, guarded or deny", ErrInvalid, field, v)
}
