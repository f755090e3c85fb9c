package server

import (
	"context"
	"strings"
	"testing"

	"github.com/bastion-ssh/bastion/policies"
)

// Where commands are judged, a variable that changes what a line runs is
// refused at the env request whatever env_allow says, and audited; a
// harmless allowed one still passes.
func TestCommandEnvRefused(t *testing.T) {
	judge := func(context.Context, CommandRequest) (CommandVerdict, error) {
		return CommandVerdict{Allowed: true, Rule: "default"}, nil
	}
	// Loading refuses such a policy (policies.checkCommandEnv); one built
	// in code reaches the server unchecked, so the server checks again.
	pol, err := policies.Parse([]byte("access:\n  - {name: ops, groups: [ops], targets: [demo], logins: [demo]}\ncommands:\n  default: allow\n"))
	if err != nil {
		t.Fatal(err)
	}
	pol.EnvAllow = []string{"*"}
	b := startTestBastionWith(t, nil, "access:\n  - {name: ops, groups: [ops], targets: [demo], logins: [demo]}\n",
		func(c *Config) { c.Commands, c.Policy = judge, policies.Static(pol) })
	c := b.dial(t, "alice@example.com", "demo@demo")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, name := range []string{"PATH", "LD_PRELOAD", "BASH_ENV", "BASH_FUNC_ls%%", "IFS", "PROMPT_COMMAND", "GIT_SSH_COMMAND"} {
		if err := s.Setenv(name, "/tmp/evil"); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if err := s.Setenv("LANG", "C.UTF-8"); err != nil {
		t.Errorf("LANG refused: %v", err)
	}
	evs := b.store.eventsOf("session.env")
	if len(evs) != 7 {
		t.Fatalf("%d session.env events, want 7: %+v", len(evs), evs)
	}
	if evs[0].Detail["name"] != "PATH" || !strings.Contains(evs[0].Reason, "can change what a judged command runs") {
		t.Errorf("event does not name the variable: %+v", evs[0])
	}
}
