package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/config"
)

// vaultPublicKeys serves GET /v1/MOUNT/public_key for each mount, as Vault's
// SSH secrets engine does; signing is tested in certauth.
func vaultPublicKeys(t *testing.T, keys map[string]ssh.PublicKey) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mount := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/"), "/public_key")
		if k, ok := keys[mount]; ok && r.Method == http.MethodGet {
			_, _ = w.Write(ssh.MarshalAuthorizedKey(k))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"errors":[]}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func newKey(t *testing.T, dir, name string) ssh.Signer {
	t.Helper()
	k, err := certauth.LoadOrCreateKey(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func vaultConfig(addr string) *config.Config {
	return &config.Config{Signer: config.Signer{Type: config.SignerVault, Vault: config.Vault{
		Address: addr, Mount: "ssh", UserRole: "bastion-user", UpstreamMount: "ssh-target", UpstreamRole: "bastion-upstream",
	}}}
}

func TestNewSignersVault(t *testing.T) {
	t.Setenv("VAULT_TOKEN", "s.test")
	dir := t.TempDir()
	userCA, targetCA := newKey(t, dir, "user_ca"), newKey(t, dir, "target_ca")
	addr := vaultPublicKeys(t, map[string]ssh.PublicKey{"ssh": userCA.PublicKey(), "ssh-target": targetCA.PublicKey()})
	user, target, err := newSigners(t.Context(), vaultConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := user.(*certauth.VaultSigner); !ok {
		t.Errorf("user signer is %T", user)
	}
	if string(user.PublicKey().Marshal()) != string(userCA.PublicKey().Marshal()) ||
		string(target.PublicKey().Marshal()) != string(targetCA.PublicKey().Marshal()) {
		t.Error("CA public keys are not the mounts'")
	}
}

func TestNewSignersRefuses(t *testing.T) {
	dir := t.TempDir()
	shared := newKey(t, dir, "ca").PublicKey()
	sharedAddr := vaultPublicKeys(t, map[string]ssh.PublicKey{"ssh": shared, "ssh-target": shared})
	userOnlyAddr := vaultPublicKeys(t, map[string]ssh.PublicKey{"ssh": shared})
	cases := []struct {
		name, addr, token, want string
	}{
		{"one-ca-for-both", sharedAddr, "s.test", "share one CA key"},
		{"no-token", sharedAddr, "", "set token_file or VAULT_TOKEN"},
		{"upstream-mount-missing", userOnlyAddr, "s.test", "signer.vault.upstream_mount ssh-target"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("VAULT_TOKEN", c.token)
			_, _, err := newSigners(t.Context(), vaultConfig(c.addr))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to say %q", err, c.want)
			}
		})
	}
}

func TestNewSignersLocal(t *testing.T) {
	dir := t.TempDir()
	userCA := newKey(t, dir, "user_ca")
	cfg := &config.Config{UserCAKey: filepath.Join(dir, "user_ca"), Signer: config.Signer{Type: config.SignerLocal}}
	user, target, err := newSigners(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if target != nil {
		t.Errorf("target signer %T without target_ca_key", target)
	}
	if string(user.PublicKey().Marshal()) != string(userCA.PublicKey().Marshal()) {
		t.Error("user signer does not use user_ca_key")
	}
}
