package devoidc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ServiceToken obtains a JWT access token for a registered confidential
// client through the provider's own token endpoint (the client
// credentials grant over HTTP, as an agent would), for tests that feed
// `bastion login --token-file`.
func (s *Server) ServiceToken(ctx context.Context, clientID string) (string, error) {
	c, err := s.storage.client(clientID)
	if err != nil {
		return "", err
	}
	if !c.confidential() {
		return "", fmt.Errorf("devoidc: client %q has no secret", clientID)
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Issuer+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("devoidc: token: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil || out.AccessToken == "" {
		return "", fmt.Errorf("devoidc: token: %s %s", resp.Status, body)
	}
	return out.AccessToken, nil
}

// ApproveNext waits for a device authorization to be pending and approves
// it as subject, returning its user code: the test stands in for the
// person at the verification page while `bastion login` polls.
func (s *Server) ApproveNext(ctx context.Context, subject string) (string, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if codes := s.PendingUserCodes(); len(codes) > 0 {
			return codes[0], s.ApproveDevice(codes[0], subject)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("devoidc: no device authorization pending: %w", ctx.Err())
		case <-tick.C:
		}
	}
}
