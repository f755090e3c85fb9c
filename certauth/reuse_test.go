package certauth

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// A token buys one certificate: a second exchange of the same token, as
// by someone who copied it from a log or a proxy, is refused and audited.
func TestTokenBuysOneCertificate(t *testing.T) {
	provider := startProvider(t, jose.RS256)
	e := newAPIEnv(t, provider, OIDCIssuer{}, VerifierOptions{})
	for _, c := range []struct{ name, token string }{
		{"id-token", deviceLogin(t, provider, testAudience, "alice")},
		{"access-token", serviceToken(t, provider)},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A request refused for another reason does not use the token up.
			if status, _, refused := e.post(t, CertificateRequest{Token: c.token, PublicKey: userKeyLine(t), TTL: "48h"}); refused.Reason != "ttl_too_long" {
				t.Fatalf("ttl 48h: %d %+v", status, refused)
			}
			if status, _, refused := e.post(t, CertificateRequest{Token: c.token, PublicKey: userKeyLine(t)}); status != http.StatusOK {
				t.Fatalf("first exchange: %d %+v", status, refused)
			}
			issued := e.audit.last(t)
			id, _ := issued.Detail["token_id"].(string)
			if issued.Type != EventIssue || id == "" {
				t.Fatalf("issue event = %+v", issued)
			}
			status, got, refused := e.post(t, CertificateRequest{Token: c.token, PublicKey: userKeyLine(t)})
			if status != http.StatusUnauthorized || refused.Reason != "token_reused" || got.Certificate != "" {
				t.Fatalf("second exchange: %d %+v", status, refused)
			}
			ev := e.audit.last(t)
			if ev.Type != EventRefused || ev.Reason != "token_reused" || ev.Detail["token_id"] != id || ev.Identity == "" {
				t.Errorf("refusal event = %+v", ev)
			}
			assertNoToken(t, e.audit, c.token)
		})
	}
}

// Concurrent exchanges of one token: the store decides, exactly one wins.
func TestTokenReuseRace(t *testing.T) {
	provider := startProvider(t, jose.ES256)
	e := newAPIEnv(t, provider, OIDCIssuer{}, VerifierOptions{})
	token := serviceToken(t, provider)
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i], _, _ = e.post(t, CertificateRequest{Token: token, PublicKey: userKeyLine(t)})
		})
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == http.StatusOK {
			ok++
		} else if s != http.StatusUnauthorized {
			t.Errorf("status %d", s)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent exchanges of one token succeeded, want 1", ok, n)
	}
}

// An issuer configured to allow reuse (a workload whose platform hands
// out one token per hour) gets a certificate per request.
func TestTokenReuseAllowedByIssuer(t *testing.T) {
	provider := startProvider(t, jose.ES256)
	e := newAPIEnv(t, provider, OIDCIssuer{AllowTokenReuse: true}, VerifierOptions{})
	token := serviceToken(t, provider)
	for i := range 3 {
		if status, _, refused := e.post(t, CertificateRequest{Token: token, PublicKey: userKeyLine(t)}); status != http.StatusOK {
			t.Fatalf("exchange %d: %d %+v", i+1, status, refused)
		}
	}
}

// Without a place to record used tokens, or when recording fails, no
// certificate is issued (fail closed).
func TestTokenLedgerFailureRefuses(t *testing.T) {
	provider := startProvider(t, jose.ES256)
	e := newAPIEnv(t, provider, OIDCIssuer{}, VerifierOptions{})
	e.used.Close()
	status, got, refused := e.post(t, CertificateRequest{Token: serviceToken(t, provider), PublicKey: userKeyLine(t)})
	if status != http.StatusInternalServerError || refused.Reason != "token_ledger_failed" || got.Certificate != "" {
		t.Fatalf("closed store: %d %+v", status, refused)
	}
	if ev := e.audit.last(t); ev.Type != EventRefused || ev.Reason != "token_ledger_failed" {
		t.Errorf("refusal event = %+v", ev)
	}
	e.issuer.Used = nil
	if status, _, refused := e.post(t, CertificateRequest{Token: serviceToken(t, provider), PublicKey: userKeyLine(t)}); refused.Reason != "token_ledger_failed" {
		t.Fatalf("no store: %d %+v", status, refused)
	}
}

func TestTokenID(t *testing.T) {
	raw := "aaa.bbb.ccc"
	sum := sha256.Sum256([]byte(raw))
	hashed := "sha256:" + hex.EncodeToString(sum[:])
	for _, c := range []struct {
		name   string
		claims map[string]any
		want   string
	}{
		{"jti", map[string]any{"jti": "abc-123"}, "abc-123"},
		{"no-jti", map[string]any{}, hashed},
		{"empty-jti", map[string]any{"jti": ""}, hashed},
		{"jti-not-a-string", map[string]any{"jti": 42.0}, hashed},
		{"huge-jti", map[string]any{"jti": strings.Repeat("x", maxJTIBytes+1)}, hashed},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := tokenID(c.claims, raw); got != c.want {
				t.Errorf("tokenID = %q, want %q", got, c.want)
			}
		})
	}
}
