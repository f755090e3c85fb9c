package certauth

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/bastion-ssh/bastion/store"
)

type discardAudit struct{}

func (discardAudit) Audit(context.Context, store.Event) error { return nil }

// BenchmarkCertificateAPI measures certificates issued per second by the
// real handler: JSON decoding, full token verification against a real
// provider's keys (cached after the first request, as in production),
// key parsing, signing and the audit call. Compare BenchmarkSignUser for
// signing alone. One token is reused throughout (allow_token_reuse), so
// the used-token check is not measured.
func BenchmarkCertificateAPI(b *testing.B) {
	rs := startProvider(b, jose.RS256)
	es := startProvider(b, jose.ES256)
	tokens := map[string]string{
		"rs256-id-token":     deviceLogin(b, rs, testAudience, "alice"),
		"es256-access-token": serviceToken(b, es),
	}
	providers := map[string]string{"rs256-id-token": rs.Issuer, "es256-access-token": es.Issuer}
	for _, name := range []string{"rs256-id-token", "es256-access-token"} {
		body, _ := json.Marshal(CertificateRequest{Token: tokens[name], PublicKey: userKeyLine(b)})
		newEnv := func(b *testing.B, audit Auditor) *API {
			v, err := NewTokenVerifier([]OIDCIssuer{{URL: providers[name], Audience: testAudience, AllowTokenReuse: true}}, VerifierOptions{})
			if err != nil {
				b.Fatal(err)
			}
			return &API{Issuer: &Issuer{Authority: &Authority{Signer: newSigner(b)}, Tokens: v, Audit: audit, Used: openStore(b)}}
		}
		b.Run(name+"/handler", func(b *testing.B) {
			api := newEnv(b, discardAudit{})
			serveOnce(b, api, body) // discovery and JWKS fetch happen here
			b.ReportAllocs()
			for b.Loop() {
				serveOnce(b, api, body)
			}
		})
		b.Run(name+"/handler-sqlite-audit", func(b *testing.B) {
			st, err := store.Open(filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			api := newEnv(b, st)
			serveOnce(b, api, body)
			b.ReportAllocs()
			for b.Loop() {
				serveOnce(b, api, body)
			}
		})
		b.Run(name+"/https-loopback", func(b *testing.B) {
			srv := httptest.NewTLSServer(newEnv(b, discardAudit{}))
			b.Cleanup(srv.Close)
			client := srv.Client()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				resp, err := client.Post(srv.URL+PathCertificate, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				var out CertificateResponse
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d: %v", resp.StatusCode, err)
				}
			}
		})
	}
}

func serveOnce(b *testing.B, api *API, body []byte) {
	req := httptest.NewRequest(http.MethodPost, PathCertificate, bytes.NewReader(body))
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}
