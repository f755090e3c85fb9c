package devoidc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Defaults of Config.
const (
	DefaultTokenLifetime = 5 * time.Minute
	DefaultPollInterval  = 5 * time.Second
	deviceCodeLifetime   = 5 * time.Minute
	readHeaderTimeout    = 10 * time.Second
)

// User is an account of the provider.
type User struct {
	Subject       string // the sub claim; required and unique
	Email         string
	EmailVerified bool
	Groups        []string
}

// Config describes the provider. Users and clients are fixed at start.
type Config struct {
	Users   []User
	Clients []Client
	// Algorithm signs tokens: RS256, ES256 (default) or EdDSA.
	Algorithm jose.SignatureAlgorithm
	// TokenLifetime of ID and access tokens; zero means DefaultTokenLifetime.
	TokenLifetime time.Duration
	// PollInterval the device flow asks clients to wait between polls
	// (whole seconds); zero means DefaultPollInterval.
	PollInterval time.Duration
}

// Server is a running provider on a loopback listener.
type Server struct {
	// Issuer is the issuer URL, e.g. http://127.0.0.1:PORT.
	Issuer  string
	storage *storage
	alg     jose.SignatureAlgorithm
	srv     *http.Server
	done    chan struct{}
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves the provider over
// plain HTTP until Close. Plain HTTP is acceptable on loopback only.
func Start(addr string, cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("devoidc: %w", err)
	}
	s, err := newServer("http://"+ln.Addr().String(), cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return s, nil
}

func newServer(issuer string, cfg Config) (*Server, error) {
	if cfg.Algorithm == "" {
		cfg.Algorithm = jose.ES256
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = DefaultTokenLifetime
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	key, err := newSigningKey(cfg.Algorithm)
	if err != nil {
		return nil, err
	}
	st := &storage{
		lifetime: cfg.TokenLifetime,
		users:    map[string]*User{}, clients: map[string]*Client{},
		current: key, published: []*signingKey{key},
		devices: map[string]*deviceEntry{}, userCodes: map[string]string{},
	}
	for i := range cfg.Users {
		u := cfg.Users[i]
		if u.Subject == "" || st.users[u.Subject] != nil {
			return nil, fmt.Errorf("devoidc: user %d: missing or duplicate subject %q", i, u.Subject)
		}
		st.users[u.Subject] = &u
	}
	for i := range cfg.Clients {
		c := cfg.Clients[i]
		if c.ID == "" || st.clients[c.ID] != nil {
			return nil, fmt.Errorf("devoidc: client %d: missing or duplicate id %q", i, c.ID)
		}
		if c.confidential() && st.users[c.ServiceUser] == nil {
			return nil, fmt.Errorf("devoidc: client %q: service user %q is not a user", c.ID, c.ServiceUser)
		}
		c.Audience = slices.Clone(c.Audience)
		st.clients[c.ID] = &c
	}
	var cryptoKey [32]byte // encrypts opaque access tokens
	_, _ = rand.Read(cryptoKey[:])
	provider, err := op.NewProvider(&op.Config{
		CryptoKey: cryptoKey,
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime:     deviceCodeLifetime,
			PollInterval: cfg.PollInterval,
			UserFormPath: "/device",
			UserCode:     op.UserCodeBase20,
		},
		SupportedScopes: []string{"openid", "email", "profile", scopeGroups},
	}, st, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, fmt.Errorf("devoidc: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/device", &approvalPage{storage: st})
	mux.Handle("/", provider)
	return &Server{
		Issuer: issuer, storage: st, alg: cfg.Algorithm, done: make(chan struct{}),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout},
	}, nil
}

// Close stops the server and waits for it.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	if errors.Is(err, context.DeadlineExceeded) {
		return s.srv.Close()
	}
	return err
}

// ApproveDevice completes the device authorization with userCode as the
// user subject, as a person would on the verification page.
func (s *Server) ApproveDevice(userCode, subject string) error {
	if subject == "" {
		return errors.New("devoidc: approve: empty subject")
	}
	return s.storage.decideDevice(userCode, subject)
}

// DenyDevice refuses the device authorization with userCode.
func (s *Server) DenyDevice(userCode string) error { return s.storage.decideDevice(userCode, "") }

// PendingUserCodes lists user codes waiting for approval, sorted.
func (s *Server) PendingUserCodes() []string { return s.storage.pendingUserCodes() }

// RotateKey signs new tokens with a fresh key; the previous keys stay
// published, as a provider does during a rotation.
func (s *Server) RotateKey() error {
	k, err := newSigningKey(s.alg)
	if err != nil {
		return err
	}
	s.storage.rotate(k)
	return nil
}
