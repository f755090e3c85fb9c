package config

import (
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Slack brings commands held for review to reviewers in Slack. Optional:
// without it, held commands are decided from the CLI
// (ssh bastion-approvals@BASTION ...).
type Slack struct {
	// WebhookURL is the incoming webhook requests are posted to. It is a
	// credential; it can also be given in WebhookURLFile.
	WebhookURL     string `yaml:"webhook_url"`
	WebhookURLFile string `yaml:"webhook_url_file"`
	// SigningSecretFile holds the app's signing secret; it verifies button
	// presses at the interactivity endpoint. Required with Slack.
	SigningSecretFile string `yaml:"signing_secret_file"`
	// Users maps Slack user ids to the reviewer identities they decide as.
	// A Slack user not listed cannot decide.
	Users map[string]SlackUser `yaml:"users"`
	// ResponseURLPrefixes are where decision updates may be posted; empty
	// means Slack's own (https://hooks.slack.com/).
	ResponseURLPrefixes []string `yaml:"response_url_prefixes"`
}

// SlackUser is who a Slack user is to the bastion.
type SlackUser struct {
	Identity string   `yaml:"identity"`
	Groups   []string `yaml:"groups"`
}

// Enabled reports whether Slack is configured.
func (s *Slack) Enabled() bool {
	return s.WebhookURL != "" || s.WebhookURLFile != "" || s.SigningSecretFile != ""
}

// Secrets reads the webhook URL and signing secret from their files.
func (s *Slack) Secrets() (webhook string, secret []byte, err error) {
	webhook = s.WebhookURL
	if s.WebhookURLFile != "" {
		b, err := os.ReadFile(s.WebhookURLFile)
		if err != nil {
			return "", nil, fmt.Errorf("slack.webhook_url_file: %w", err)
		}
		webhook = strings.TrimSpace(string(b))
	}
	b, err := os.ReadFile(s.SigningSecretFile)
	if err != nil {
		return "", nil, fmt.Errorf("slack.signing_secret_file: %w", err)
	}
	secret = []byte(strings.TrimSpace(string(b)))
	if len(secret) < 16 {
		return "", nil, fmt.Errorf("slack.signing_secret_file: secret shorter than 16 bytes")
	}
	return webhook, secret, nil
}

func (c *Config) validateSlack() error {
	s := &c.Slack
	if !s.Enabled() {
		if len(s.Users) > 0 {
			return invalid("slack.users", "set, but slack is not configured")
		}
		return nil
	}
	if c.HTTP.Listen == "" {
		return invalid("slack", "needs http.listen: the interactivity endpoint is served on the certificate API's listener")
	}
	if s.SigningSecretFile == "" {
		return invalid("slack.signing_secret_file", "missing")
	}
	if s.WebhookURL != "" && s.WebhookURLFile != "" {
		return invalid("slack.webhook_url", "set both webhook_url and webhook_url_file; use one")
	}
	if s.WebhookURL != "" {
		if u, err := url.Parse(s.WebhookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			return invalid("slack.webhook_url", "not an http(s) URL")
		}
	}
	for id, u := range s.Users {
		if id == "" || u.Identity == "" {
			return invalid("slack.users", "each entry needs a Slack user id and an identity")
		}
	}
	return nil
}
