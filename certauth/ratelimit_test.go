package certauth

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestSourceLimiterBuckets(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := NewSourceLimiter(2, 3)
	l.clock = func() time.Time { return now }
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	for i := range 3 {
		if ok, _, _ := l.Allow(a); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait, report := l.Allow(a)
	if ok || wait != 500*time.Millisecond || !report {
		t.Fatalf("past the burst: ok=%v wait=%s report=%v, want refused, 500ms, reported", ok, wait, report)
	}
	if _, _, report := l.Allow(a); report {
		t.Error("second refusal within a minute reported again")
	}
	if ok, _, _ := l.Allow(b); !ok {
		t.Error("another address shares the first one's bucket")
	}
	// An IPv4-mapped IPv6 address is the same client.
	if ok, _, _ := l.Allow(netip.MustParseAddr("::ffff:192.0.2.1")); ok {
		t.Error("IPv4-mapped form of a limited address got its own bucket")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _, _ := l.Allow(a); !ok {
		t.Error("refused after the bucket refilled one token")
	}
	// Refilled buckets are forgotten at the next sweep: memory stays
	// bounded by the addresses active in the last minutes.
	now = now.Add(2 * reportEvery)
	l.Allow(b)
	if n := len(l.sources); n != 1 {
		t.Errorf("%d buckets kept after a sweep, want only the one just used", n)
	}
}

// Past the limit the API answers 429 with Retry-After before reading the
// request, and audits the refusal once per address and minute.
func TestAPIRateLimit(t *testing.T) {
	provider := startProvider(t, jose.ES256)
	e := newAPIEnv(t, provider, OIDCIssuer{}, VerifierOptions{})
	e.api.Limiter = NewSourceLimiter(0.001, 2)
	token := serviceToken(t, provider)
	for i := range 2 {
		if i > 0 {
			token = serviceToken(t, provider) // a token buys one certificate
		}
		if status, _, refused := e.post(t, CertificateRequest{Token: token, PublicKey: userKeyLine(t)}); status != http.StatusOK {
			t.Fatalf("request %d: %d %+v", i+1, status, refused)
		}
	}
	for range 3 {
		status, got, refused := e.post(t, CertificateRequest{Token: token, PublicKey: userKeyLine(t)})
		if status != http.StatusTooManyRequests || refused.Reason != "rate_limited" || got.Certificate != "" {
			t.Fatalf("over the limit: %d %+v", status, refused)
		}
	}
	refusals := 0
	e.audit.mu.Lock()
	defer e.audit.mu.Unlock()
	for _, ev := range e.audit.events {
		if ev.Type == EventRefused && ev.Reason == "rate_limited" && ev.SourceAddr == "127.0.0.1" {
			refusals++
		}
	}
	if refusals != 1 {
		t.Errorf("%d rate_limited refusals audited, want 1 for three refused requests", refusals)
	}
	resp, err := e.http.Client().Post(e.http.URL+PathCertificate, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ra := resp.Header.Get("Retry-After"); resp.StatusCode != http.StatusTooManyRequests || ra == "" || ra == "0" {
		t.Errorf("status %d, Retry-After %q", resp.StatusCode, ra)
	}
}
