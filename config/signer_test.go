package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// validVault is `valid` with the vault signer in place of the CA key files.
var validVault = strings.Replace(strings.Replace(valid, "user_ca_key: user_ca\ntarget_ca_key: target_ca\n", "", 1),
	"policy: policy.yaml\n", `policy: policy.yaml
signer:
  type: vault
  vault:
    address: https://vault.example.com:8200
    user_role: bastion-user
    upstream_mount: ssh-target
    upstream_role: bastion-upstream
    token_file: vault-token
    ca_cert: vault-ca.pem
`, 1)

func TestSignerDefaultsToLocal(t *testing.T) {
	c, err := Parse([]byte(valid), "/etc/bastion")
	if err != nil {
		t.Fatal(err)
	}
	if c.Signer.Type != SignerLocal {
		t.Errorf("signer.type = %q, want %q", c.Signer.Type, SignerLocal)
	}
}

func TestParseVaultSigner(t *testing.T) {
	c, err := Parse([]byte(validVault), "/etc/bastion")
	if err != nil {
		t.Fatal(err)
	}
	v := c.Signer.Vault
	if c.Signer.Type != SignerVault || v.Mount != DefaultVaultMount || v.UserRole != "bastion-user" ||
		v.UpstreamMount != "ssh-target" || v.UpstreamRole != "bastion-upstream" {
		t.Errorf("signer = %+v", c.Signer)
	}
	if v.TokenFile != "/etc/bastion/vault-token" || v.CACert != "/etc/bastion/vault-ca.pem" {
		t.Errorf("paths not resolved: token_file %q ca_cert %q", v.TokenFile, v.CACert)
	}
}

func TestParseRejectsSigner(t *testing.T) {
	cases := []struct {
		name, doc, from, to, field string
	}{
		{"unknown-type", valid, "policy: policy.yaml", "policy: policy.yaml\nsigner: {type: hsm}", "signer.type"},
		{"vault-block-with-local", valid, "policy: policy.yaml", "policy: policy.yaml\nsigner: {vault: {address: https://v:8200}}", "signer.vault"},
		{"no-user-ca-key", valid, "user_ca_key: user_ca\n", "", "user_ca_key: missing"},
		{"user-ca-key-with-vault", validVault, "policy: policy.yaml", "policy: policy.yaml\nuser_ca_key: user_ca", "user_ca_key"},
		{"target-ca-key-with-vault", validVault, "policy: policy.yaml", "policy: policy.yaml\ntarget_ca_key: target_ca", "target_ca_key"},
		{"no-address", validVault, "    address: https://vault.example.com:8200\n", "", "signer.vault.address: missing"},
		{"plain-http-address", validVault, "https://vault.example.com", "http://vault.example.com", "signer.vault.address"},
		{"bad-mount", validVault, "user_role:", "mount: ../sys\n    user_role:", "signer.vault.mount"},
		{"no-user-role", validVault, "    user_role: bastion-user\n", "", "signer.vault.user_role"},
		{"bad-user-role", validVault, "user_role: bastion-user", "user_role: a/b", "signer.vault.user_role"},
		{"certificate-without-upstream-role", validVault, "    upstream_mount: ssh-target\n    upstream_role: bastion-upstream\n", "", "signer.vault.upstream_role"},
		{"upstream-role-without-mount", validVault, "    upstream_mount: ssh-target\n", "", "signer.vault.upstream_mount"},
		{"upstream-mount-is-user-mount", validVault, "upstream_mount: ssh-target", "upstream_mount: ssh", "signer.vault.upstream_mount"},
		{"unknown-vault-field", validVault, "token_file:", "tokenfile:", "tokenfile"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := strings.Replace(c.doc, c.from, c.to, 1)
			if doc == c.doc {
				t.Fatalf("test case does not change the document")
			}
			_, err := Parse([]byte(doc), "/x")
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("err = %q, want it to name %q", err, c.field)
			}
		})
	}
}

// Upstream roles are needed only for certificate credentials.
func TestVaultSignerWithoutCertificateTargets(t *testing.T) {
	doc := strings.Replace(validVault, "    upstream_mount: ssh-target\n    upstream_role: bastion-upstream\n", "", 1)
	doc = strings.Replace(doc, "login: postgres", "login: postgres\n    credential: {type: key, key_file: k}", 1)
	if _, err := Parse([]byte(doc), "/x"); err != nil {
		t.Fatal(err)
	}
}

// The commented vault block in the example must load once uncommented.
func TestExampleVaultBlockLoads(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	block := regexp.MustCompile(`(?m)^  # vault:\n(  #.*\n)+`).FindString(doc)
	if block == "" {
		t.Fatal("no commented vault block under signer in config.example.yaml")
	}
	doc = strings.Replace(doc, block, regexp.MustCompile(`(?m)^  # `).ReplaceAllString(block, "  "), 1)
	doc = strings.Replace(doc, "  type: local", "  type: vault", 1)
	doc = regexp.MustCompile(`(?m)^(user|target)_ca_key: .*\n`).ReplaceAllString(doc, "")
	c, err := Parse([]byte(doc), "/etc/bastion")
	if err != nil {
		t.Fatal(err)
	}
	if c.Signer.Type != SignerVault || c.Signer.Vault.UpstreamRole == "" || c.Signer.Vault.TokenFile == "" {
		t.Errorf("signer = %+v", c.Signer)
	}
}
