package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/store"
)

// testTargets stands in for the policy's answer (the stack's
// targetLister; e2e covers the real one): one target with a default
// login, one with a single login, one where the user must choose.
func testTargets(identity string, groups []string) []certauth.Target {
	return []certauth.Target{
		{Name: "db-1", Logins: []string{"postgres", "app-*"}, DefaultLogin: "postgres"},
		{Name: "web-1", Logins: []string{"deploy"}},
		{Name: "any-1", Logins: []string{"app-*"}},
	}
}

// TestLoginWritesTargetHosts: after login, `ssh TARGET` works through the
// generated ssh_config, and `bastion targets` lists what the bastion said.
func TestLoginWritesTargetHosts(t *testing.T) {
	e := newLoginEnv(t)
	dir := filepath.Join(t.TempDir(), "bastion")
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(e.serviceToken(t)), 0o600)
	runOK(t, e.args(dir, "--token-file", tokenFile, "--no-agent")...)

	cfg, err := os.ReadFile(filepath.Join(dir, loginSSHConfig))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Host db-1\n", "User postgres@db-1\n", "Host web-1\n", "User deploy@web-1\n"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("ssh_config lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(string(cfg), "Host any-1") {
		t.Errorf("a target with no single login got a Host block:\n%s", cfg)
	}
	out := runOK(t, "targets", "--dir", dir)
	for _, want := range []string{"db-1", "postgres,app-*", "web-1", "any-1", "ssh LOGIN@any-1@bastion", "as of login at"} {
		if !strings.Contains(out, want) {
			t.Errorf("bastion targets lacks %q:\n%s", want, out)
		}
	}
	var saved savedTargets
	if err := json.Unmarshal([]byte(runOK(t, "targets", "--json", "--dir", dir)), &saved); err != nil || len(saved.Targets) != 3 {
		t.Errorf("targets --json: %+v %v", saved, err)
	}
	// Without a login there is nothing to list, and the message says what to do.
	err = run(t.Context(), []string{"targets", "--dir", t.TempDir()}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "bastion login") {
		t.Errorf("targets without login: %v", err)
	}
}

// TestTargetsEndpointRefusesBadTokens: the listing needs a token that
// verifies, and a refusal is audited.
func TestTargetsEndpointRefusesBadTokens(t *testing.T) {
	e := newLoginEnv(t)
	for name, header := range map[string]string{"none": "", "garbage": "Bearer not.a.token", "basic": "Basic YTpi"} {
		req, _ := http.NewRequest(http.MethodGet, e.api.URL+certauth.PathTargets, nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := e.api.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d", name, resp.StatusCode)
		}
	}
	events, err := e.store.Events(t.Context(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, ev := range events {
		if ev.Type == certauth.EventRefused {
			refused++
		}
	}
	if refused != 3 {
		t.Errorf("%d refusals audited, want 3", refused)
	}
}

// With --token-file, bastion targets asks the bastion now (the token is
// only verified, so it still buys a certificate afterwards).
func TestTargetsLive(t *testing.T) {
	e := newLoginEnv(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(e.serviceToken(t)+"\n"), 0o600)
	out := runOK(t, "targets", "--server", e.api.URL, "--ca-cert", e.caFile, "--token-file", tokenFile)
	if !strings.Contains(out, "(as of now)") || !strings.Contains(out, "db-1") || !strings.Contains(out, "postgres,app-*") {
		t.Errorf("live targets:\n%s", out)
	}
	runOK(t, e.args(filepath.Join(t.TempDir(), "login"), "--token-file", tokenFile, "--no-agent")...)
	if err := run(t.Context(), []string{"targets", "--server", "http://127.0.0.1:1", "--token-file", tokenFile}, io.Discard, io.Discard); err == nil {
		t.Error("targets over plain http accepted")
	}
}
