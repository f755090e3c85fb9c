package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/policies"
	"github.com/bastion-ssh/bastion/store"
)

// Bounds of the certificate API's HTTP server.
const (
	apiReadHeaderTimeout = 10 * time.Second
	apiReadTimeout       = 30 * time.Second
	apiWriteTimeout      = 30 * time.Second
	apiIdleTimeout       = 2 * time.Minute
	// revocationCheckTimeout bounds the store lookup made for every login.
	revocationCheckTimeout = 2 * time.Second
)

// apiServer is the HTTPS listener of the certificate API.
type apiServer struct {
	srv *http.Server
	ln  net.Listener
}

// apiStore is what the certificate API writes: audit events and the
// tokens already exchanged.
type apiStore interface {
	certauth.Auditor
	certauth.UsedTokens
}

// apiStores is an apiStore from parts: audit events through the masking
// wrapper, token uses straight to the store.
type apiStores struct {
	certauth.Auditor
	certauth.UsedTokens
}

// newAPIServer builds the certificate API from the config's http and
// issuers sections and listens, so that a taken port is a start-up error.
func newAPIServer(cfg *config.Config, st apiStore, userCA certauth.Signer, hostKey ssh.Signer, sshAddr string, targets certauth.TargetLister, log *slog.Logger) (*apiServer, error) {
	cert, err := tls.LoadX509KeyPair(cfg.HTTP.TLSCert, cfg.HTTP.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("http tls: %w", err)
	}
	issuers := make([]certauth.OIDCIssuer, len(cfg.Issuers))
	for i, is := range cfg.Issuers {
		issuers[i] = certauth.OIDCIssuer{
			URL: is.URL, Audience: is.Audience, IdentityClaim: is.IdentityClaim, GroupsClaim: is.GroupsClaim,
			AllowedGroups: is.AllowedGroups, MaxTTL: is.MaxTTL, BindSourceAddress: is.BindSourceAddress,
			AllowUnverifiedEmail: !is.EmailVerifiedRequired(), AllowTokenReuse: is.AllowTokenReuse,
		}
	}
	tokens, err := certauth.NewTokenVerifier(issuers, certauth.VerifierOptions{})
	if err != nil {
		return nil, err
	}
	if cfg.HTTP.SSHAddress != "" {
		sshAddr = cfg.HTTP.SSHAddress
	}
	api := &certauth.API{
		Issuer: &certauth.Issuer{Authority: userCA, Tokens: tokens, Audit: st, Used: st,
			Logger: log.With("component", "certauth")},
		HostKeys:   []ssh.PublicKey{hostKey.PublicKey()},
		SSHAddress: sshAddr,
		Limiter:    certauth.NewSourceLimiter(cfg.HTTP.RateLimit.PerSecond, cfg.HTTP.RateLimit.Burst),
		Targets:    targets,
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return nil, fmt.Errorf("http listen: %w", err)
	}
	ln = proxyListener(ln, cfg.ListenProxyProtocol.Prefixes())
	return &apiServer{ln: ln, srv: &http.Server{
		Handler:           api,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: apiReadHeaderTimeout,
		ReadTimeout:       apiReadTimeout,
		WriteTimeout:      apiWriteTimeout,
		IdleTimeout:       apiIdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}, nil
}

// serve runs until shutdown.
func (a *apiServer) serve() error {
	err := a.srv.ServeTLS(a.ln, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (a *apiServer) shutdown(ctx context.Context) error { return a.srv.Shutdown(ctx) }

// URL is the API's base URL.
func (a *apiServer) URL() string { return "https://" + a.ln.Addr().String() }

// targetLister answers GET /v1/targets from the current policy and the
// config's targets, with each target's default login.
func targetLister(cfg *config.Config, policy *policies.Watcher) certauth.TargetLister {
	return func(identity string, groups []string) []certauth.Target {
		var out []certauth.Target
		for _, r := range policy.Current().Reachable(identity, groups, cfg.TargetNames()) {
			t, _ := cfg.Target(r.Target)
			out = append(out, certauth.Target{Name: r.Target, Logins: r.Logins, DefaultLogin: t.Login})
		}
		return out
	}
}

// revocationHook is certauth.Checker.IsRevoked over the store: a revoked
// serial, or an identity revoked after the certificate was issued, is
// refused at the next connection. A store error refuses too (fail closed).
// The front server also calls it for each new channel and, periodically,
// for every open connection, which it ends once revoked.
func revocationHook(st *store.Store, log *slog.Logger) func(*ssh.Certificate) bool {
	return func(cert *ssh.Certificate) bool {
		// The SSH auth callback has no context; the timeout bounds the lookup.
		ctx, cancel := context.WithTimeout(context.Background(), revocationCheckTimeout)
		defer cancel()
		revoked, err := st.IsRevoked(ctx, strconv.FormatUint(cert.Serial, 10), certauth.CertIdentity(cert), certauth.IssuedAt(cert))
		if err != nil {
			log.Error("revocation check failed; refusing the certificate", "serial", cert.Serial, "err", err)
			return true
		}
		return revoked
	}
}
