package devoidc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func start(t *testing.T) *Server {
	t.Helper()
	s, err := Start("127.0.0.1:0", Config{
		Users: []User{{Subject: "alice", Email: "alice@example.com", EmailVerified: true, Groups: []string{"ops"}}},
		Clients: []Client{
			{ID: "cli"},
			{ID: "svc", Secret: "s3cret", ServiceUser: "alice", Audience: []string{"bastion"}},
		},
		PollInterval: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func deviceConfig(t *testing.T, s *Server) *oauth2.Config {
	p, err := oidc.NewProvider(t.Context(), s.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	return &oauth2.Config{ClientID: "cli", Endpoint: ep, Scopes: []string{"openid", "email", "groups"}}
}

// TestDeviceFlow: approval through the verification page yields an ID
// token that go-oidc verifies, with email and groups; the device code is
// redeemed once.
func TestDeviceFlow(t *testing.T) {
	s := start(t)
	conf := deviceConfig(t, s)
	da, err := conf.DeviceAuth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(da.VerificationURI, s.Issuer+"/device") {
		t.Errorf("verification uri %q", da.VerificationURI)
	}
	page, err := http.Get(da.VerificationURIComplete)
	if err != nil || page.StatusCode != 200 {
		t.Fatalf("GET page: %v %v", page.Status, err)
	}
	page.Body.Close()
	resp, err := http.PostForm(s.Issuer+"/device", url.Values{"user_code": {da.UserCode}, "subject": {"alice"}, "action": {"allow"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("approve: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	tok, err := conf.DeviceAccessToken(t.Context(), da)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	p, _ := oidc.NewProvider(t.Context(), s.Issuer)
	id, err := p.Verifier(&oidc.Config{ClientID: "cli"}).Verify(t.Context(), raw)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Email    string   `json:"email"`
		Verified bool     `json:"email_verified"`
		Groups   []string `json:"groups"`
	}
	if err := id.Claims(&claims); err != nil || claims.Email != "alice@example.com" || !claims.Verified || claims.Groups[0] != "ops" || id.Subject != "alice" {
		t.Errorf("claims %+v, %v", claims, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if _, err := conf.DeviceAccessToken(ctx, da); err == nil {
		t.Error("device code redeemed twice")
	}
}

func TestDeviceDenied(t *testing.T) {
	s := start(t)
	conf := deviceConfig(t, s)
	da, err := conf.DeviceAuth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DenyDevice(da.UserCode); err != nil {
		t.Fatal(err)
	}
	if _, err := conf.DeviceAccessToken(t.Context(), da); err == nil || !strings.Contains(err.Error(), "access_denied") {
		t.Errorf("denied device code: %v", err)
	}
	if err := s.ApproveDevice("BCDF-GHJK", "alice"); err == nil {
		t.Error("approved an unknown user code")
	}
}

// TestServiceTokenAndApproveNext: the helpers tests outside this package
// use.
func TestServiceTokenAndApproveNext(t *testing.T) {
	s := start(t)
	tok, err := s.ServiceToken(t.Context(), "svc")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := oidc.NewProvider(t.Context(), s.Issuer)
	at, err := p.Verifier(&oidc.Config{ClientID: "bastion"}).Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	at.Claims(&claims)
	if claims["email"] != "alice@example.com" || at.Subject != "alice" {
		t.Errorf("access token claims %v", claims)
	}
	if _, err := s.ServiceToken(t.Context(), "cli"); err == nil {
		t.Error("service token for a public client")
	}
	conf := deviceConfig(t, s)
	da, err := conf.DeviceAuth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	code, err := s.ApproveNext(t.Context(), "alice")
	if err != nil || code != da.UserCode {
		t.Fatalf("ApproveNext = %q, %v; want %q", code, err, da.UserCode)
	}
	if _, err := conf.DeviceAccessToken(t.Context(), da); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s.PendingUserCodes())
	if string(b) != "null" {
		t.Errorf("pending after approval: %s", b)
	}
}
