package server

import (
	"errors"
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
