package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bastion-ssh/bastion/config"
)

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(t.Context(), args, &out, &errb); err != nil {
		t.Fatalf("bastion %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// TestInitThenCheck: what init writes passes serve --check as it is,
// with private files 0600, and init prints what targets need.
func TestInitThenCheck(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc")
	out := runOK(t, "init", "--dir", dir, "--hostname", "bastion.example.com")
	for _, want := range []string{"TrustedUserCAKeys", "ssh-ed25519 ", "bastion serve --check --config " + filepath.Join(dir, "config.yaml")} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "target_ca.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, strings.TrimSpace(string(pub))) {
		t.Errorf("init output does not show the target CA's public key %s", pub)
	}
	for _, f := range []string{"host_key", "user_ca", "target_ca", "signing_key", "tls_key.pem", "config.yaml", "policy.yaml"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", f, st.Mode().Perm())
		}
	}
	for _, d := range []string{dir, filepath.Join(dir, "data")} {
		if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: want a 0700 directory (%v, %v)", d, st.Mode(), err)
		}
	}
	check := runOK(t, "serve", "--check", "--config", filepath.Join(dir, "config.yaml"))
	if !strings.Contains(check, "OK") || !strings.Contains(check, "no targets yet") || !strings.Contains(check, "; signing key SHA256:") {
		t.Errorf("serve --check output:\n%s", check)
	}
}

// TestInitWithIssuerTurnsOnTheAPI: with --issuer the API section is live
// and still checks out (the self-signed TLS pair loads).
func TestInitWithIssuerTurnsOnTheAPI(t *testing.T) {
	dir := t.TempDir()
	runOK(t, "init", "--dir", dir, "--issuer", "https://login.example.com", "--hostname", "10.1.2.3")
	cfg, err := config.Load(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen == "" || len(cfg.Issuers) != 1 || cfg.HTTP.SSHAddress != "10.1.2.3:2222" {
		t.Errorf("http = %+v, issuers = %+v", cfg.HTTP, cfg.Issuers)
	}
	runOK(t, "serve", "--check", "--config", filepath.Join(dir, "config.yaml"))
}

// TestServeRefusesOpenKeys: a private file readable by group or others
// fails the check (and so serve), naming the field, the file and the fix.
func TestServeRefusesOpenKeys(t *testing.T) {
	dir := t.TempDir()
	runOK(t, "init", "--dir", dir)
	cfgFile := filepath.Join(dir, "config.yaml")
	for _, f := range []string{"host_key", "user_ca", "target_ca", "signing_key"} {
		t.Run(f, func(t *testing.T) {
			path := filepath.Join(dir, f)
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(path, 0o600)
			for _, args := range [][]string{{"serve", "--check", "--config", cfgFile}, {"serve", "--config", cfgFile}} {
				err := run(t.Context(), args, io.Discard, io.Discard)
				if !errors.Is(err, config.ErrKeyPermissions) {
					t.Fatalf("%v: err = %v, want ErrKeyPermissions", args, err)
				}
				if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "chmod 600 "+path) {
					t.Errorf("message does not name the file and the fix: %s", msg)
				}
			}
		})
	}
	runOK(t, "serve", "--check", "--config", cfgFile)
}

// TestInitRefusesToOverwrite: a second init into the same directory
// changes nothing and says why.
func TestInitRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	runOK(t, "init", "--dir", dir)
	before, err := os.ReadFile(filepath.Join(dir, "user_ca"))
	if err != nil {
		t.Fatal(err)
	}
	err = run(t.Context(), []string{"init", "--dir", dir}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("second init: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "user_ca"))
	if !bytes.Equal(before, after) {
		t.Error("second init replaced the user CA key")
	}
	// One leftover file is enough to refuse.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "policy.yaml"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"init", "--dir", other}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "policy.yaml") {
		t.Fatalf("init over a policy.yaml: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "host_key")); err == nil {
		t.Error("refused init still wrote a key")
	}
}

// TestInitRefusesWorldWritableDir: an existing directory others can write
// to would let them swap a key or the policy.
func TestInitRefusesWorldWritableDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"init", "--dir", dir}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "chmod go-w") {
		t.Fatalf("init into a 0777 directory: %v", err)
	}
}

// TestInitFailureLeavesNothing: an init that fails half-way (here: a TLS
// key path that cannot be read, so the check fails) removes what it
// wrote, so that a corrected rerun is not refused.
func TestInitFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(t.TempDir(), "none.pem")
	err := run(t.Context(), []string{"init", "--dir", dir, "--issuer", "https://login.example.com", "--tls-cert", missing, "--tls-key", missing}, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("init with a missing TLS pair succeeded")
	}
	left, _ := os.ReadDir(dir)
	for _, e := range left {
		if !e.IsDir() {
			t.Errorf("failed init left %s", e.Name())
		}
	}
	runOK(t, "init", "--dir", dir)
}
