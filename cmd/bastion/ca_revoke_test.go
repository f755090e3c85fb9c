package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/store"
)

// TestRevokeRefusesNewConnections: `bastion ca revoke` takes effect at the
// front server's next certificate check, through the store.
func TestRevokeRefusesNewConnections(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	caKey, err := certauth.LoadOrCreateKey(filepath.Join(dir, "user_ca"))
	if err != nil {
		t.Fatal(err)
	}
	ca := &certauth.Authority{Signer: caKey}
	sign := func(identity string) *ssh.Certificate {
		k, err := certauth.LoadOrCreateKey(filepath.Join(t.TempDir(), "k"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := ca.SignUser(certauth.UserRequest{PublicKey: k.PublicKey(), Identity: identity})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	checker := &certauth.Checker{Authorities: []ssh.PublicKey{caKey.PublicKey()},
		IsRevoked: revocationHook(st, slog.New(slog.NewTextHandler(io.Discard, nil)))}
	addr := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 5000}
	alice, bob := sign("alice@example.com"), sign("bob@example.com")
	for _, c := range []*ssh.Certificate{alice, bob} {
		if _, err := checker.Check(c, addr); err != nil {
			t.Fatalf("before revocation: %v", err)
		}
	}
	revoke := func(args ...string) string {
		var out bytes.Buffer
		if err := run(t.Context(), append([]string{"ca", "revoke", "--data", dir}, args...), &out, io.Discard); err != nil {
			t.Fatalf("ca revoke %v: %v", args, err)
		}
		return out.String()
	}
	revoke(strconv.FormatUint(alice.Serial, 10), "--reason", "laptop stolen")
	if _, err := checker.Check(alice, addr); !errors.Is(err, certauth.ErrRevoked) {
		t.Errorf("revoked serial: %v", err)
	}
	if _, err := checker.Check(bob, addr); err != nil {
		t.Errorf("another serial: %v", err)
	}
	// An identity revocation ends bob's current certificates; a certificate
	// from a later login is accepted.
	time.Sleep(10 * time.Millisecond)
	revoke("--identity", "bob@example.com")
	if _, err := checker.Check(bob, addr); !errors.Is(err, certauth.ErrRevoked) {
		t.Errorf("revoked identity: %v", err)
	}
	later := func() time.Time { return time.Now().Add(2 * time.Minute) }
	ca.Clock, checker.Clock = later, later
	if _, err := checker.Check(sign("bob@example.com"), addr); err != nil {
		t.Errorf("certificate issued after the revocation: %v", err)
	}
	list := revoke("--list")
	if !strings.Contains(list, "laptop stolen") || !strings.Contains(list, "identity bob@example.com") {
		t.Errorf("--list:\n%s", list)
	}
	events, _ := st.Events(t.Context(), store.EventFilter{Type: "cert.revoke"})
	if len(events) != 2 {
		t.Errorf("%d cert.revoke audit events, want 2", len(events))
	}
	if err := run(t.Context(), []string{"ca", "revoke", "--data", dir, "12x"}, io.Discard, io.Discard); err == nil {
		t.Error("non-numeric serial accepted")
	}
}
