package server

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// The command judge sees each exec command before anything reaches the
// target: a denied command never runs, gets its exit status and an event;
// an allowed one runs; a judge error denies.
func TestCommandJudge(t *testing.T) {
	var mu sync.Mutex
	var seen []CommandRequest
	judge := func(_ context.Context, r CommandRequest) (CommandVerdict, error) {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
		switch {
		case strings.HasPrefix(r.Command, "rm "):
			return CommandVerdict{Reason: "rm is not allowed", Rule: "no-rm"}, nil
		case strings.HasPrefix(r.Command, "broken"):
			return CommandVerdict{}, errors.New("judge unavailable")
		}
		return CommandVerdict{Allowed: true, Rule: "default"}, nil
	}
	b := startTestBastionWith(t, nil, "access:\n  - {name: ops, groups: [ops], targets: [demo], logins: [demo]}\n",
		func(c *Config) { c.Commands = judge })
	c := b.dial(t, "alice@example.com", "demo@demo")
	run := func(cmd string) (string, string, error) {
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var out, errb lockedBuffer
		s.Stdout, s.Stderr = &out, &errb
		err = s.Run(cmd)
		return out.String(), errb.String(), err
	}
	if out, _, err := run("echo allowed"); err != nil || !strings.Contains(out, "allowed") {
		t.Errorf("allowed command: %q %v", out, err)
	}
	for _, cmd := range []string{"rm -rf /tmp/x; echo ran", "broken; echo ran"} {
		out, errb, err := run(cmd)
		var ee *ssh.ExitError
		if !errors.As(err, &ee) || ee.ExitStatus() != ExitCommandDenied || strings.Contains(out, "ran") {
			t.Errorf("%q: out %q stderr %q err %v", cmd, out, errb, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || seen[0].Identity != "alice@example.com" || seen[0].Target != "demo" {
		t.Errorf("judge saw %+v", seen)
	}
	if n := len(b.store.eventsOf("command.denied")); n != 2 {
		t.Errorf("%d command.denied events, want 2", n)
	}
}
