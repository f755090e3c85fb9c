package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/store"
)

// TestDevLoginPath: `bastion dev` obtains its certificate from its own
// OIDC issuer through the certificate API; the front server accepts it,
// and refuses it once `bastion ca revoke` names its serial.
func TestDevLoginPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dev", "--data", dir, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"}, &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("bastion dev: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("bastion dev did not stop")
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stdout.String(), "Try:") {
		if time.Now().After(deadline) {
			t.Fatalf("bastion dev did not start:\n%s\n%s", stdout.String(), stderr.String())
		}
		select {
		case err := <-done:
			t.Fatalf("bastion dev exited: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	st, _, err := readCertStatus(dir)
	if err != nil || st.Identity != devIdentity || strings.Join(st.Groups, ",") != devGroup {
		t.Fatalf("dev certificate: %+v, %v", st, err)
	}
	db, err := store.Open(dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Two certificates come through the login path: the developer's and
	// the development reviewer's (group security).
	events, _ := db.Events(t.Context(), store.EventFilter{Type: certauth.EventIssue})
	if len(events) != 2 || events[0].Detail["serial"] != st.Serial || !strings.HasPrefix(events[0].Detail["issuer"].(string), "http://127.0.0.1:") ||
		events[1].Identity != devReviewer {
		t.Fatalf("cert.issue events = %+v", events)
	}
	for _, f := range []string{devLoginEnv, devAgentEnv} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || !strings.Contains(string(b), "BASTION_SERVER=https://127.0.0.1:") {
			t.Errorf("%s: %q %v", f, b, err)
		}
	}

	addr := sshAddrFromConfig(t, filepath.Join(dir, "ssh_config"))
	if err := sshEcho(dir, addr); err != nil {
		t.Fatalf("ssh with the dev certificate: %v\n%s", err, stderr.String())
	}
	if err := run(t.Context(), []string{"ca", "revoke", "--data", dir, st.Serial}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := sshEcho(dir, addr); err == nil {
		t.Fatal("a revoked certificate still logs in")
	}
}

// sshEcho logs in to the demo target through the bastion with the dev
// key and certificate and runs one command.
func sshEcho(dir, addr string) error {
	key, err := certauth.LoadKey(filepath.Join(dir, loginKeyFile))
	if err != nil {
		return err
	}
	_, cert, err := readCertStatus(dir)
	if err != nil {
		return err
	}
	signer, err := ssh.NewCertSigner(cert, key)
	if err != nil {
		return err
	}
	hostKey, err := certauth.LoadKey(filepath.Join(dir, "host_key"))
	if err != nil {
		return err
	}
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: devLogin + "@" + devTarget,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.FixedHostKey(hostKey.PublicKey()),
		Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	out, err := s.Output("echo ok")
	if err == nil && string(out) != "ok\n" {
		return io.ErrUnexpectedEOF
	}
	return err
}

func sshAddrFromConfig(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var host string
	var port int
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "HostName" {
			host = f[1]
		}
		if len(f) == 2 && f[0] == "Port" {
			port, _ = strconv.Atoi(f[1])
		}
	}
	return host + ":" + strconv.Itoa(port)
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The development issuer answers each device-flow poll that is still
// pending with "authorization_pending" and logs it at Info through slog's
// default logger; under bastion dev that logger keeps warnings and errors
// only, so a person reading the code does not watch the log scroll.
func TestDevIssuerPollingIsQuiet(t *testing.T) {
	issuer, _, err := startDevIssuer()
	if err != nil {
		t.Fatal(err)
	}
	defer issuer.Close()
	poll := func() {
		t.Helper()
		var meta struct {
			Device string `json:"device_authorization_endpoint"`
			Token  string `json:"token_endpoint"`
		}
		getJSON(t, http.MethodGet, issuer.Issuer+"/.well-known/openid-configuration", nil, &meta)
		var da struct {
			DeviceCode string `json:"device_code"`
		}
		getJSON(t, http.MethodPost, meta.Device, url.Values{"client_id": {devDeviceClientID}, "scope": {"openid"}}, &da)
		var answer struct {
			Error string `json:"error"`
		}
		getJSON(t, http.MethodPost, meta.Token, url.Values{"client_id": {devDeviceClientID}, "device_code": {da.DeviceCode},
			"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}}, &answer)
		if answer.Error != "authorization_pending" {
			t.Fatalf("poll answered %q, want authorization_pending", answer.Error)
		}
	}
	prev := slog.Default()
	defer slog.SetDefault(prev)
	var loud, quiet syncBuffer
	slog.SetDefault(slog.New(slog.NewTextHandler(&loud, nil)))
	poll()
	if !strings.Contains(loud.String(), "authorization_pending") {
		t.Fatalf("the issuer no longer logs pending polls at Info; this test checks nothing (log: %q)", loud.String())
	}
	slog.SetDefault(libraryLogger(&quiet))
	poll()
	if quiet.String() != "" {
		t.Errorf("a pending poll was logged under bastion dev: %s", quiet.String())
	}
}

// getJSON sends form (nil: no body) and decodes the JSON answer into v.
func getJSON(t *testing.T, method, u string, form url.Values, v any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
}
