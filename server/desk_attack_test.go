package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/store"
)

// A reviewer whose certificate is revoked while their connection is open
// (before the sweep ends it) cannot decide through a new channel on it:
// the approval desk re-checks the certificate as every channel does.
func TestDeskAttackRevokedReviewerDecides(t *testing.T) {
	desk := &fakeDesk{a: store.Approval{ID: "req-abc", Requester: "alice@x", Reviewers: []string{"ops"}, State: "pending",
		Command: "touch f", Target: "demo", Login: "demo", Rule: "r", Needed: 1, Deadline: time.Now().Add(time.Hour)}}
	b := startTestBastionWith(t, nil, "access:\n  - {name: ops, groups: [ops], targets: [demo], logins: [demo]}\n",
		func(c *Config) {
			c.Approvals = desk
			c.SweepInterval = time.Hour // the window between a revocation and the next sweep
		})
	c := b.dial(t, "carol@x", ApprovalsUser)
	b.revoked.Store(true)

	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var errb lockedBuffer
	s.Stderr = &errb
	err = s.Run("approve req-abc --reason looks-fine")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != ExitCertificateRevoked {
		t.Errorf("desk with a revoked certificate: err %v, stderr %q", err, errb.String())
	}
	if desk.a.State != "pending" || len(desk.a.Decisions) != 0 {
		t.Errorf("a revoked reviewer decided: %+v", desk.a)
	}
}

// A command approved after its requester's certificate was revoked does
// not run, even before the sweep ends the connection: the certificate is
// checked again when the hold ends.
func TestHeldCommandAttackRevokedWhileHeld(t *testing.T) {
	release := make(chan struct{})
	held := make(chan struct{}, 1)
	judge := func(ctx context.Context, r CommandRequest) (CommandVerdict, error) {
		held <- struct{}{}
		select {
		case <-release:
			return CommandVerdict{Allowed: true, Rule: "r"}, nil
		case <-ctx.Done():
			return CommandVerdict{Reason: "gone"}, nil
		}
	}
	b := startTestBastionWith(t, nil, "access:\n  - {name: ops, groups: [ops], targets: [demo], logins: [demo]}\n",
		func(c *Config) { c.Commands, c.SweepInterval = judge, time.Hour })
	c := b.dial(t, "alice@example.com", "demo@demo")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb lockedBuffer
	s.Stdout, s.Stderr = &out, &errb
	done := make(chan error, 1)
	go func() { done <- s.Run("echo ran") }()
	<-held
	b.revoked.Store(true)
	close(release)
	err = <-done
	var ee *ssh.ExitError
	if strings.Contains(out.String(), "ran") || !errors.As(err, &ee) || ee.ExitStatus() != ExitCertificateRevoked {
		t.Errorf("approved after revocation: err %v, out %q, stderr %q", err, out.String(), errb.String())
	}
}
