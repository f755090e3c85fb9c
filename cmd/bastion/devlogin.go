package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/bastion-ssh/bastion/certauth/devoidc"
)

// The development identity provider's accounts. The device client is what
// `bastion login` uses by default; the service client is how `bastion dev`
// itself logs in, with client credentials.
const (
	devSubject        = "developer"
	devDeviceClientID = defaultLoginClientID
	devServiceClient  = "bastion-dev"
	devAudience       = defaultLoginClientID
	devHTTPListen     = "127.0.0.1:8443"
	devLoginEnv       = "login.env"
	devAgentEnv       = "agent.env"
)

// startDevIssuer runs the built-in OIDC provider on loopback. The service
// client's secret is new at each start.
func startDevIssuer() (*devoidc.Server, string, error) {
	secret := randomHex(16)
	srv, err := devoidc.Start("127.0.0.1:0", devoidc.Config{
		Users: []devoidc.User{
			{Subject: devSubject, Email: devIdentity, EmailVerified: true, Groups: []string{devGroup}},
			{Subject: devReviewerSubject, Email: devReviewer, EmailVerified: true, Groups: []string{devReviewerGroup}},
		},
		Clients: []devoidc.Client{
			{ID: devDeviceClientID},
			{ID: devServiceClient, Secret: secret, ServiceUser: devSubject, Audience: []string{devAudience}},
			{ID: devReviewerClient, Secret: secret, ServiceUser: devReviewerSubject, Audience: []string{devAudience}},
		},
		PollInterval: 2 * time.Second,
	})
	return srv, secret, err
}

// devHTTPAddr is the development API's address: the usual port when it
// is free, any port when another bastion dev holds it.
func devHTTPAddr(want string, explicit bool) string {
	if explicit {
		return want
	}
	ln, err := net.Listen("tcp", want)
	if err != nil {
		return "127.0.0.1:0"
	}
	ln.Close()
	return want
}

// devCertificate obtains the development certificate through the real
// login path: client credentials at the development issuer, then the
// bastion's certificate API over TLS.
func (e *devEnv) devCertificate(ctx context.Context, apiURL string) error {
	client, err := apiClient(filepath.Join(e.dir, devTLSCert))
	if err != nil {
		return err
	}
	_, err = login(ctx, loginOptions{
		server: apiURL, dir: e.dir, ttl: devCertTTL.String(), client: client,
		token: clientCredentialsToken(e.issuer.Issuer, devServiceClient, e.secret, nil, &http.Client{Timeout: tokenTimeout}),
	}, io.Discard)
	if err != nil {
		return fmt.Errorf("dev login: %w", err)
	}
	// Environment files for `bastion login` against this development stack:
	// login.env for a person (device flow), agent.env adds the service
	// client for --client-credentials.
	common := fmt.Sprintf("BASTION_SERVER=%s\nBASTION_ISSUER=%s\nBASTION_CA_CERT=%s\n",
		apiURL, e.issuer.Issuer, filepath.Join(e.dir, devTLSCert))
	if err := writePrivate(filepath.Join(e.dir, devLoginEnv), []byte(common)); err != nil {
		return err
	}
	agentEnv := common + fmt.Sprintf("BASTION_CLIENT_ID=%s\nBASTION_CLIENT_SECRET=%s\n", devServiceClient, e.secret)
	return writePrivate(filepath.Join(e.dir, devAgentEnv), []byte(agentEnv))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
