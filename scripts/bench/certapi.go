package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/certauth/devoidc"
)

// The certificate API's set-up: an OpenID provider in this process with
// one confidential client, whose JWT access tokens speak for a service
// user in group ops, as a CI agent's would.
const (
	apiAudience     = "bastion"
	apiClientID     = "bench-agent"
	apiClientSecret = "bench-agent-secret"
	apiServiceUser  = "bench-agent"
	apiIdentity     = "bench-agent@example.com"
	// apiTimeout bounds one certificate request.
	apiTimeout = 30 * time.Second
)

// startProvider starts the development OpenID provider on loopback.
func (e *env) startProvider() error {
	p, err := devoidc.Start("127.0.0.1:0", devoidc.Config{
		Users: []devoidc.User{{Subject: apiServiceUser, Email: apiIdentity, EmailVerified: true, Groups: []string{"ops"}}},
		Clients: []devoidc.Client{{ID: apiClientID, Secret: apiClientSecret, ServiceUser: apiServiceUser,
			Audience: []string{apiAudience}}},
	})
	if err != nil {
		return err
	}
	e.provider = p
	return nil
}

// apiConfig is the part of the bastion's config that turns on the
// certificate API: HTTPS on port with the harness's certificate, and the
// provider as the only issuer.
func (e *env) apiConfig(port int) string {
	return fmt.Sprintf(`http:
  listen: 127.0.0.1:%d
  tls_cert: tls_cert.pem
  tls_key: tls_key.pem
  # All the harness's clients share one address; the scenario measures
  # issuance, not the per-address limit.
  rate_limit: {per_second: 1000000, burst: 100000}
issuers:
  - url: %s
    audience: %s
    # Every request presents the same token: the scenario measures
    # issuance, so the one-certificate-per-token check is turned off
    # (its cost, one indexed insert, is not in these figures).
    allow_token_reuse: true
`, port, e.provider.Issuer, apiAudience)
}

// writeTLSCert writes a self-signed certificate for 127.0.0.1 (and its
// key) into dir and returns a pool that trusts it.
func writeTLSCert(dir string) (*x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "bastion bench"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		// Self-signed: the certificate is its own trust anchor.
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls_key.pem"), pemBlock("PRIVATE KEY", keyDER), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls_cert.pem"), pemBlock("CERTIFICATE", der), 0o644); err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool, nil
}

// apiClient is one agent: its own HTTPS connection, kept alive between
// requests, trusting only the harness's certificate. HTTP/1.1, as a
// shell script with curl would speak.
func (e *env) apiClient() *http.Client {
	return &http.Client{
		Timeout: apiTimeout,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: e.apiRoots, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 1,
		},
	}
}

// certRequester posts certificate requests for one key over one client.
type certRequester struct {
	client *http.Client
	url    string
	body   []byte
}

func (e *env) newCertRequester(token string) (*certRequester, error) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(certauth.CertificateRequest{
		Token: token, PublicKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))),
	})
	if err != nil {
		return nil, err
	}
	return &certRequester{client: e.apiClient(), url: e.apiURL + certauth.PathCertificate, body: body}, nil
}

// request asks for one certificate and returns the answer.
func (r *certRequester) request(ctx context.Context) (certauth.CertificateResponse, error) {
	var out certauth.CertificateResponse
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(r.body))
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	// Read to the end, so that the connection is reused.
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return out, err
	}
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("POST %s: %s: %s", certauth.PathCertificate, resp.Status, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, fmt.Errorf("POST %s: %w", certauth.PathCertificate, err)
	}
	return out, nil
}

// check makes sure a response certifies the requester's key for the
// service user, so that the scenario measures real issuance.
func (r *certRequester) check(resp certauth.CertificateResponse) error {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(resp.Certificate))
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	cert, ok := pub.(*ssh.Certificate)
	if !ok {
		return errors.New("certificate: not a certificate")
	}
	var req certauth.CertificateRequest
	if err := json.Unmarshal(r.body, &req); err != nil {
		return err
	}
	if got := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(cert.Key))); got != req.PublicKey {
		return errors.New("certificate: certifies another key")
	}
	if resp.Identity != apiIdentity {
		return fmt.Errorf("certificate: identity %q, want %q", resp.Identity, apiIdentity)
	}
	return nil
}

// issueRate obtains count certificates from the API over clients
// concurrent connections and returns certificates per second. Each
// client first makes one request that is not timed (TLS handshake, and
// the bastion's first fetch of the provider's keys) and is checked in
// full; the timed requests are checked for status and shape.
func (e *env) issueRate(ctx context.Context, clients, count int) (float64, error) {
	token, err := e.provider.ServiceToken(ctx, apiClientID)
	if err != nil {
		return 0, err
	}
	reqs := make([]*certRequester, clients)
	for i := range reqs {
		if reqs[i], err = e.newCertRequester(token); err != nil {
			return 0, err
		}
		defer reqs[i].client.CloseIdleConnections()
		resp, err := reqs[i].request(ctx)
		if err != nil {
			return 0, err
		}
		if err := reqs[i].check(resp); err != nil {
			return 0, err
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(count) && ctx.Err() == nil {
				resp, err := r.request(ctx)
				if err == nil && !strings.HasPrefix(resp.Certificate, ssh.CertAlgoED25519v01+" ") {
					err = fmt.Errorf("unexpected certificate %.40q", resp.Certificate)
				}
				if err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return 0, err
	}
	return float64(count) / elapsed.Seconds(), nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
