package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/bastion-ssh/bastion/slackreview/slacktest"
)

// The development reviewer: a second identity, in group security, that
// may decide commands the demo policy holds for review.
const (
	devReviewer        = "reviewer@bastion.dev"
	devReviewerGroup   = "security"
	devReviewerSubject = "reviewer"
	devReviewerClient  = "bastion-dev-reviewer"
	devReviewerDir     = "reviewer"
	devSlackUser       = "UDEVREVIEWER"
	devSlackSecretFile = "slack_signing_secret"
)

// devCommands is the commands section of the development policy: a deny
// rule and a review rule on the demo host.
const devCommands = `# Exec commands are judged before they reach the host (see README,
# "Command guardrails"). Try: ssh -F ssh_config demo 'rm notes.txt'
commands:
  default: allow
  reviewers: [security]
  rules:
    - name: no-deletes
      programs: [rm, shred, unlink]
      action: deny
    - name: touch-needs-review
      targets: [demo]
      programs: [touch]
      action: review
      reviewers: [security]
      approvals: 1
      timeout: 10m
`

// startDevSlack runs the Slack stand-in, which prints each message bastion
// would post to Slack, and writes a fresh signing secret for it.
func startDevSlack(dir string, out io.Writer) (*slacktest.Server, error) {
	if err := writePrivate(filepath.Join(dir, devSlackSecretFile), []byte(randomHex(32)+"\n")); err != nil {
		return nil, err
	}
	sl := slacktest.NewServer()
	sl.Print = out
	return sl, nil
}

// devSlackConfig is the slack section of the development config.
func devSlackConfig(sl *slacktest.Server) string {
	return fmt.Sprintf(`slack:
  webhook_url: %q
  signing_secret_file: %s
  response_url_prefixes: [%q]
  users:
    %s: {identity: %s, groups: [%s]}
`, sl.WebhookURL(), devSlackSecretFile, sl.ResponseURLPrefix(), devSlackUser, devReviewer, devReviewerGroup)
}

// reviewerCertificate logs the development reviewer in (client
// credentials, like the developer) into DIR/reviewer, with an ssh_config
// for `bastion approvals`, `approve` and `deny`.
func (e *devEnv) reviewerCertificate(ctx context.Context, apiURL, sshAddr string, port int) error {
	dir := filepath.Join(e.dir, devReviewerDir)
	client, err := apiClient(filepath.Join(e.dir, devTLSCert))
	if err != nil {
		return err
	}
	_, err = login(ctx, loginOptions{
		server: apiURL, dir: dir, ttl: devCertTTL.String(), client: client,
		token: clientCredentialsToken(e.issuer.Issuer, devReviewerClient, e.secret, nil, &http.Client{Timeout: tokenTimeout}),
	}, io.Discard)
	if err != nil {
		return fmt.Errorf("dev reviewer login: %w", err)
	}
	host := sshAddr[:len(sshAddr)-len(fmt.Sprint(port))-1]
	cfg := fmt.Sprintf(`# Written by 'bastion dev': the reviewer %[5]s.
# Use: bastion approvals list --ssh-config %[1]s/ssh_config
Host bastion
  HostName %[2]s
  Port %[3]d
  IdentityFile %[1]s/id_ed25519
  CertificateFile %[1]s/id_ed25519-cert.pub
  IdentitiesOnly yes
  UserKnownHostsFile %[4]s/known_hosts
  StrictHostKeyChecking yes
`, dir, host, port, e.dir, devReviewer)
	return os.WriteFile(filepath.Join(dir, "ssh_config"), []byte(cfg), 0o600)
}
