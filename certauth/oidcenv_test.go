package certauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/bastion-ssh/bastion/certauth/devoidc"
	"github.com/bastion-ssh/bastion/store"
)

// The test provider's accounts.
const (
	testAudience      = "bastion"
	testAgentID       = "ci-agent"
	testAgentSecret   = "ci-agent-secret"
	testOtherClientID = "other-app"
)

var testUsers = []devoidc.User{
	{Subject: "alice", Email: "alice@example.com", EmailVerified: true, Groups: []string{"ops", "dba"}},
	{Subject: "bob", Email: "bob@example.com", EmailVerified: false, Groups: []string{"ops"}},
	{Subject: "carol", Email: "carol@example.com", EmailVerified: true, Groups: []string{"sales"}},
	{Subject: "agent", Email: "ci-agent@example.com", EmailVerified: true, Groups: []string{"ops", "agents"}},
}

// startProvider runs a real OpenID provider (zitadel op) on loopback.
func startProvider(t testing.TB, alg jose.SignatureAlgorithm) *devoidc.Server {
	t.Helper()
	srv, err := devoidc.Start("127.0.0.1:0", devoidc.Config{
		Users: testUsers,
		Clients: []devoidc.Client{
			{ID: testAudience},
			{ID: testOtherClientID},
			{ID: testAgentID, Secret: testAgentSecret, ServiceUser: "agent", Audience: []string{testAudience}},
		},
		Algorithm:    alg,
		PollInterval: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// deviceLogin runs the device authorization grant as `bastion login`
// does, approving the user code on the provider as subject, and returns
// the ID token.
func deviceLogin(t testing.TB, srv *devoidc.Server, clientID, subject string) string {
	t.Helper()
	ctx := context.Background()
	p, err := oidc.NewProvider(ctx, srv.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	conf := &oauth2.Config{ClientID: clientID, Endpoint: ep, Scopes: []string{oidc.ScopeOpenID, "email", "groups"}}
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.ApproveDevice(da.UserCode, subject); err != nil {
		t.Fatal(err)
	}
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := tok.Extra("id_token").(string)
	if id == "" {
		t.Fatal("token response has no id_token")
	}
	return id
}

// serviceToken runs the client credentials grant and returns the JWT
// access token.
func serviceToken(t testing.TB, srv *devoidc.Server) string {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), srv.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	cc := clientcredentials.Config{ClientID: testAgentID, ClientSecret: testAgentSecret, TokenURL: p.Endpoint().TokenURL}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// forge builds a token by hand: the attacks that no honest provider emits.
// With sign nil the signature is empty (alg none).
func forge(t testing.TB, header map[string]any, claims map[string]any, sign func(signingInput []byte) []byte) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(claims)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// joseSign signs claims with go-jose under the given key and header kid.
func joseSign(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// goodClaims are the claims of a token the provider could have issued.
func goodClaims(issuer string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": issuer, "sub": "alice", "aud": []string{testAudience},
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"email": "alice@example.com", "email_verified": true, "groups": []string{"ops"},
	}
}

// providerJWKS fetches the provider's published keys.
func providerJWKS(t testing.TB, srv *devoidc.Server) jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get(srv.Issuer + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

func newECKey(t testing.TB) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// memAudit is an Auditor that keeps events in memory.
type memAudit struct {
	mu     sync.Mutex
	events []store.Event
	fail   error
}

func (m *memAudit) Audit(_ context.Context, e store.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.events = append(m.events, e)
	return nil
}

func (m *memAudit) last(t testing.TB) store.Event {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.events) == 0 {
		t.Fatal("no audit event")
	}
	return m.events[len(m.events)-1]
}

func (m *memAudit) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.events)
}

// countingTransport counts requests per URL path.
type countingTransport struct {
	mu    sync.Mutex
	paths []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.paths = append(c.paths, r.URL.Path)
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, p := range c.paths {
		if p == path {
			n++
		}
	}
	return n
}

func netTCPAddr(ip string) net.TCPAddr { return net.TCPAddr{IP: net.ParseIP(ip), Port: 40000} }
