package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const withHTTP = "http: {listen: 127.0.0.1:8443, tls_cert: c, tls_key: k}\nissuers: [{url: https://login.example.com, audience: bastion}]\n"

func TestSlackConfig(t *testing.T) {
	doc := valid + withHTTP + `slack:
  webhook_url_file: hook
  signing_secret_file: secret
  users:
    U1: {identity: carol@example.com, groups: [security]}
`
	dir := t.TempDir()
	c, err := Parse([]byte(doc), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Slack.Enabled() || c.Slack.SigningSecretFile != filepath.Join(dir, "secret") || c.Slack.Users["U1"].Identity != "carol@example.com" {
		t.Fatalf("slack %+v", c.Slack)
	}
	os.WriteFile(filepath.Join(dir, "hook"), []byte("https://hooks.slack.com/services/T/B/x\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "secret"), []byte("short\n"), 0o600)
	if _, _, err := c.Slack.Secrets(); err == nil {
		t.Error("a short signing secret was accepted")
	}
	os.WriteFile(filepath.Join(dir, "secret"), []byte("8f742231b10e8888abcd99yyyzzz85a5\n"), 0o600)
	hook, secret, err := c.Slack.Secrets()
	if err != nil || hook != "https://hooks.slack.com/services/T/B/x" || string(secret) != "8f742231b10e8888abcd99yyyzzz85a5" {
		t.Errorf("secrets %q %q %v", hook, secret, err)
	}
}

func TestSlackRejects(t *testing.T) {
	cases := []struct{ name, doc, field string }{
		{"no-http", "slack: {webhook_url: https://hooks.slack.com/x, signing_secret_file: s}\n", "needs http.listen"},
		{"no-secret", withHTTP + "slack: {webhook_url: https://hooks.slack.com/x}\n", "slack.signing_secret_file"},
		{"both-webhooks", withHTTP + "slack: {webhook_url: https://x/y, webhook_url_file: f, signing_secret_file: s}\n", "slack.webhook_url"},
		{"bad-webhook", withHTTP + "slack: {webhook_url: 'ftp://x', signing_secret_file: s}\n", "slack.webhook_url"},
		{"user-without-identity", withHTTP + "slack: {webhook_url: https://x/y, signing_secret_file: s, users: {U1: {groups: [a]}}}\n", "slack.users"},
		{"users-without-slack", "slack: {users: {U1: {identity: a@b}}}\n", "slack.users"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(valid+c.doc), "/x")
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.field) {
				t.Errorf("err = %v, want ErrInvalid naming %s", err, c.field)
			}
		})
	}
}
