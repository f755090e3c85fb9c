package policies

import (
	"errors"
	"testing"
)

func TestInteractiveDefaults(t *testing.T) {
	rule := AccessRule{Name: "r", Identities: []string{"a"}, Targets: []string{"*"}, Logins: []string{"root"}}
	req := Request{Identity: "a", Login: "root", Target: "t"}
	p := &Policy{Access: []AccessRule{rule}}
	if got := p.Decide(req).Interactive; got != InteractiveAllow {
		t.Errorf("without command rules: %q", got)
	}
	p.Commands.Default = CommandAllow
	if got := p.Decide(req).Interactive; got != InteractiveGuarded {
		t.Errorf("with command rules: %q", got)
	}
	p.Access[0].Interactive = InteractiveDeny
	if got := p.Decide(req).Interactive; got != InteractiveDeny {
		t.Errorf("explicit deny: %q", got)
	}
}

func TestInteractiveInvalid(t *testing.T) {
	_, err := Parse([]byte("access:\n  - {name: r, identities: [a], targets: ['*'], logins: [root], interactive: maybe}\n"))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v", err)
	}
}
