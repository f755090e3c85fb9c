package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
)

// apiTimeout bounds each call to the bastion's certificate API.
const apiTimeout = 30 * time.Second

// refusedError is a certificate request the bastion refused; Reason is
// the API's stable code (expired_token, group_not_allowed, ...).
type refusedError struct {
	Status int
	certauth.ErrorResponse
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("certificate refused (%s): %s", e.Reason, e.ErrorResponse.Error)
}

// apiClient returns an HTTPS client trusting the system roots plus, when
// caFile is set, the PEM certificates in it (a development bastion's
// self-signed certificate).
func apiClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-cert %s: no PEM certificate found", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: apiTimeout}, nil
}

// requestCertificate posts the token and public key to the API and checks
// that the certificate it returns certifies that very key.
func requestCertificate(ctx context.Context, client *http.Client, server, token string, pub ssh.PublicKey, ttl string) (*certauth.CertificateResponse, *ssh.Certificate, error) {
	body, err := json.Marshal(certauth.CertificateRequest{
		Token: token, PublicKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))), TTL: ttl,
	})
	if err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(server, "/")+certauth.PathCertificate, bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("--server: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("bastion %s: %w", server, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("bastion %s: %w", server, err)
	}
	if resp.StatusCode != http.StatusOK {
		refused := &refusedError{Status: resp.StatusCode}
		if json.Unmarshal(data, &refused.ErrorResponse) != nil || refused.Reason == "" {
			return nil, nil, fmt.Errorf("bastion %s: %s", server, resp.Status)
		}
		return nil, nil, refused
	}
	var out certauth.CertificateResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, nil, fmt.Errorf("bastion %s: bad response: %w", server, err)
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(out.Certificate))
	if err != nil {
		return nil, nil, fmt.Errorf("bastion %s: bad certificate: %w", server, err)
	}
	cert, ok := k.(*ssh.Certificate)
	if !ok || !bytes.Equal(cert.Key.Marshal(), pub.Marshal()) || cert.CertType != ssh.UserCert {
		return nil, nil, fmt.Errorf("bastion %s: the certificate returned is not a user certificate for this key", server)
	}
	return &out, cert, nil
}

// fetchHostKeys reads the bastion's SSH host keys from the API.
func fetchHostKeys(ctx context.Context, client *http.Client, server string) ([]ssh.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(server, "/")+certauth.PathHostKeys, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("host keys: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("host keys: %s %v", resp.Status, err)
	}
	var keys []ssh.PublicKey
	for len(bytes.TrimSpace(data)) > 0 {
		k, _, _, rest, err := ssh.ParseAuthorizedKey(data)
		if err != nil {
			return nil, fmt.Errorf("host keys: %w", err)
		}
		keys, data = append(keys, k), rest
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("host keys: the bastion sent none")
	}
	return keys, nil
}
