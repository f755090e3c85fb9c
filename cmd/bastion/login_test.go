package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/certauth/devoidc"
	"github.com/bastion-ssh/bastion/store"
)

// loginEnv is a certificate API (TLS, self-signed) in front of a real
// OpenID provider, both on loopback.
type loginEnv struct {
	provider *devoidc.Server
	api      *httptest.Server
	caFile   string // PEM of the API's TLS certificate
	hostKey  ssh.PublicKey
	userCA   ssh.PublicKey
	store    *store.Store
}

func newLoginEnv(t *testing.T) *loginEnv {
	t.Helper()
	provider, err := devoidc.Start("127.0.0.1:0", devoidc.Config{
		Users: []devoidc.User{
			{Subject: "alice", Email: "alice@example.com", EmailVerified: true, Groups: []string{"ops"}},
			{Subject: "bob", Email: "bob@example.com", Groups: []string{"ops"}},
			{Subject: "agent", Email: "agent@example.com", EmailVerified: true, Groups: []string{"agents"}},
		},
		Clients: []devoidc.Client{
			{ID: "bastion"},
			{ID: "ci", Secret: "ci-secret", ServiceUser: "agent", Audience: []string{"bastion"}},
		},
		PollInterval: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { provider.Close() })
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "bastion.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ca, err := certauth.LoadOrCreateKey(filepath.Join(dir, "user_ca"))
	if err != nil {
		t.Fatal(err)
	}
	host, err := certauth.LoadOrCreateKey(filepath.Join(dir, "host_key"))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := certauth.NewTokenVerifier([]certauth.OIDCIssuer{{URL: provider.Issuer, Audience: "bastion", MaxTTL: time.Hour}}, certauth.VerifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewTLSServer(&certauth.API{
		Issuer:     &certauth.Issuer{Authority: &certauth.Authority{Signer: ca}, Tokens: tokens, Audit: st, Used: st},
		HostKeys:   []ssh.PublicKey{host.PublicKey()},
		SSHAddress: "127.0.0.1:2222",
		Targets:    testTargets,
	})
	t.Cleanup(api.Close)
	caFile := filepath.Join(dir, "api.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	return &loginEnv{provider: provider, api: api, caFile: caFile, hostKey: host.PublicKey(), userCA: ca.PublicKey(), store: st}
}

func (e *loginEnv) args(dir string, extra ...string) []string {
	return append([]string{"login", "--server", e.api.URL, "--issuer", e.provider.Issuer, "--ca-cert", e.caFile, "--dir", dir}, extra...)
}

func (e *loginEnv) serviceToken(t *testing.T) string {
	t.Helper()
	p, err := oidc.NewProvider(t.Context(), e.provider.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := (&clientcredentials.Config{ClientID: "ci", ClientSecret: "ci-secret", TokenURL: p.Endpoint().TokenURL}).Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// TestLoginDeviceFlow: `bastion login` prints a verification URL and user
// code; a person approves it at the provider; the certificate, ssh_config
// and known_hosts are written and ssh-keygen reads the certificate.
func TestLoginDeviceFlow(t *testing.T) {
	e := newLoginEnv(t)
	dir := filepath.Join(t.TempDir(), "bastion")
	pr, pw := io.Pipe()
	var stdout bytes.Buffer
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	go func() {
		done <- run(ctx, e.args(dir), &stdout, pw)
		pw.Close()
	}()
	var prompt strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		prompt.WriteString(line + "\n")
		if code, ok := strings.CutPrefix(line, "and enter the code: "); ok {
			if !strings.Contains(prompt.String(), e.provider.Issuer+"/device") {
				t.Errorf("prompt lacks the verification URL:\n%s", prompt.String())
			}
			if err := e.provider.ApproveDevice(code, "alice"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("login: %v\n%s", err, prompt.String())
	}
	if !strings.Contains(stdout.String(), "Logged in as alice@example.com (groups: ops)") {
		t.Errorf("stdout = %q", stdout.String())
	}
	for _, f := range []string{"", loginKeyFile, loginKeyFile + ".pub", loginCertFile, loginSSHConfig, loginKnownHosts} {
		st, err := os.Stat(filepath.Join(dir, f))
		want := os.FileMode(0o600)
		if f == "" {
			want = 0o700
		}
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", f, st.Mode().Perm(), err, want)
		}
	}
	known, _ := os.ReadFile(filepath.Join(dir, loginKnownHosts))
	if want := "[127.0.0.1]:2222 " + string(ssh.MarshalAuthorizedKey(e.hostKey)); string(known) != want {
		t.Errorf("known_hosts = %q, want %q", known, want)
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, loginSSHConfig))
	for _, w := range []string{"Host bastion\n", "HostName 127.0.0.1\n", "Port 2222\n", "CertificateFile " + filepath.Join(dir, loginCertFile), "StrictHostKeyChecking yes"} {
		if !strings.Contains(string(cfg), w) {
			t.Errorf("ssh_config lacks %q:\n%s", w, cfg)
		}
	}
	if _, err := exec.LookPath("ssh-keygen"); err == nil {
		out, err := exec.Command("ssh-keygen", "-L", "-f", filepath.Join(dir, loginCertFile)).CombinedOutput()
		if err != nil || !strings.Contains(string(out), `Key ID: "alice@example.com serial=`) || !strings.Contains(string(out), "groups@bastion") {
			t.Errorf("ssh-keygen -L: %v\n%s", err, out)
		}
	}
	// --status reads the stored certificate.
	stdout.Reset()
	if err := run(t.Context(), []string{"login", "--status", "--json", "--dir", dir}, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	var st certStatus
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil || st.Identity != "alice@example.com" || st.Expired ||
		strings.Join(st.Groups, ",") != "ops" || time.Until(st.ValidBefore) > certauth.DefaultUserTTL {
		t.Errorf("status = %+v, %v", st, err)
	}
	// A second login reuses the key.
	pub1, _ := os.ReadFile(filepath.Join(dir, loginKeyFile+".pub"))
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(e.serviceToken(t)+"\n"), 0o600)
	if err := run(t.Context(), e.args(dir, "--token-file", tokenFile), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	pub2, _ := os.ReadFile(filepath.Join(dir, loginKeyFile+".pub"))
	if !bytes.Equal(pub1, pub2) {
		t.Error("second login generated a new key")
	}
}

// TestLoginWithoutPrompt: agents log in with a token file or client
// credentials, with --json output and the key loaded into ssh-agent.
func TestLoginWithoutPrompt(t *testing.T) {
	e := newLoginEnv(t)
	keyring := agent.NewKeyring()
	sock := serveAgent(t, keyring)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(e.serviceToken(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		args []string
		env  map[string]string
	}{
		"token-file":         {args: []string{"--token-file", tokenFile, "--ttl", "30m"}},
		"client-credentials": {args: []string{"--client-credentials", "--ttl", "30m"}, env: map[string]string{"BASTION_CLIENT_ID": "ci", "BASTION_CLIENT_SECRET": "ci-secret"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			t.Setenv("SSH_AUTH_SOCK", sock)
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			if err := run(t.Context(), e.args(dir, append(c.args, "--json")...), &stdout, &stderr); err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			if stderr.Len() != 0 {
				t.Errorf("a prompt-free login wrote to stderr: %q", stderr.String())
			}
			var res loginResult
			if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
				t.Fatalf("%v: %s", err, stdout.String())
			}
			if res.Identity != "agent@example.com" || strings.Join(res.Groups, ",") != "agents" || !res.Agent ||
				res.Key != filepath.Join(dir, loginKeyFile) || time.Until(res.ValidBefore) < 29*time.Minute {
				t.Errorf("result = %+v", res)
			}
			keys, err := keyring.List()
			if err != nil || !agentHasSerial(keys, res.Serial) {
				t.Errorf("ssh-agent lacks the certificate %s: %v", res.Serial, err)
			}
		})
	}
}

func TestLoginRefused(t *testing.T) {
	e := newLoginEnv(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(e.serviceToken(t)), 0o600)
	var stdout bytes.Buffer
	err := run(t.Context(), e.args(t.TempDir(), "--token-file", tokenFile, "--ttl", "2h", "--json"), &stdout, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "ttl_too_long") {
		t.Fatalf("err = %v", err)
	}
	var refused certauth.ErrorResponse
	if json.Unmarshal(stdout.Bytes(), &refused) != nil || refused.Reason != "ttl_too_long" {
		t.Errorf("--json refusal = %q", stdout.String())
	}
	if err := run(t.Context(), []string{"login", "--server", "http://127.0.0.1:1", "--token-file", tokenFile}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("plain http server: %v", err)
	}
	if err := run(t.Context(), []string{"login", "--status", "--dir", t.TempDir()}, io.Discard, io.Discard); err == nil {
		t.Error("--status without a certificate succeeded")
	}
}

func serveAgent(t *testing.T, keyring agent.Agent) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(keyring, c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return sock
}

func agentHasSerial(keys []*agent.Key, serial string) bool {
	for _, k := range keys {
		pub, err := ssh.ParsePublicKey(k.Blob)
		if c, ok := pub.(*ssh.Certificate); err == nil && ok && strings.Contains(c.KeyId, "serial="+serial) {
			return true
		}
	}
	return false
}
