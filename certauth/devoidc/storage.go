// Portions Copyright The zitadel/oidc Contributors; Apache License 2.0
// (example/server/storage/storage.go: device authorization, client
// credentials, key set).

package devoidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// scopeGroups asks for the groups claim.
const scopeGroups = "groups"

var errUnsupported = errors.New("devoidc: not supported by the development provider")

// storage is the provider's in-memory op.Storage: users and clients given
// at start, pending device authorizations, and the signing keys.
type storage struct {
	lifetime time.Duration // of issued tokens

	mu        sync.Mutex // guards everything below
	users     map[string]*User
	clients   map[string]*Client
	current   *signingKey             // signs new tokens
	published []*signingKey           // served at /keys: current and previous keys
	devices   map[string]*deviceEntry // by device code
	userCodes map[string]string       // user code → device code
}

type deviceEntry struct {
	userCode string
	state    *op.DeviceAuthorizationState
}

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.DeviceAuthorizationStorage     = (*storage)(nil)
	_ op.ClientCredentialsStorage       = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)
)

func (s *storage) client(id string) (*Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return nil, fmt.Errorf("devoidc: unknown client %q", id)
	}
	return c, nil
}

// GetClientByClientID implements op.OPStorage.
func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, err := s.client(id)
	if err != nil {
		return nil, err
	}
	return opClient{c: c, lifetime: s.lifetime}, nil
}

// AuthorizeClientIDSecret implements op.OPStorage.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c, err := s.client(id)
	if err != nil {
		return err
	}
	if !c.confidential() || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		return errors.New("devoidc: wrong client secret")
	}
	return nil
}

// ClientCredentials implements op.ClientCredentialsStorage.
func (s *storage) ClientCredentials(ctx context.Context, id, secret string) (op.Client, error) {
	if err := s.AuthorizeClientIDSecret(ctx, id, secret); err != nil {
		return nil, err
	}
	return s.GetClientByClientID(ctx, id)
}

// ClientCredentialsTokenRequest implements op.ClientCredentialsStorage: the
// token speaks for the client's service user.
func (s *storage) ClientCredentialsTokenRequest(_ context.Context, id string, scopes []string) (op.TokenRequest, error) {
	c, err := s.client(id)
	if err != nil {
		return nil, err
	}
	return &oidc.JWTTokenRequest{Subject: c.ServiceUser, Audience: c.Audience, Scopes: scopes}, nil
}

// CreateAccessToken implements op.AuthStorage. Tokens are not kept: the
// bastion verifies JWTs offline, and the userinfo endpoint is unsupported.
func (s *storage) CreateAccessToken(context.Context, op.TokenRequest) (string, time.Time, error) {
	return randomID(16), time.Now().Add(s.lifetime), nil
}

// SetUserinfoFromRequest implements op.CanSetUserinfoFromRequest: the ID
// token of a device login names the user who approved it.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[r.GetSubject()]
	if !ok {
		return fmt.Errorf("devoidc: unknown user %q", r.GetSubject())
	}
	info.Subject = u.Subject
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email = u.Email
		info.EmailVerified = oidc.Bool(u.EmailVerified)
	}
	if slices.Contains(scopes, scopeGroups) {
		info.AppendClaims("groups", u.Groups)
	}
	return nil
}

// GetPrivateClaimsFromRequest implements op.CanGetPrivateClaimsFromRequest:
// a service client's JWT access token carries its user's email and groups.
func (s *storage) GetPrivateClaimsFromRequest(_ context.Context, r op.TokenRequest, _ []string) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[r.GetSubject()]
	if !ok {
		return nil, nil
	}
	claims := map[string]any{"groups": u.Groups}
	if u.Email != "" {
		claims["email"] = u.Email
		claims["email_verified"] = u.EmailVerified
	}
	return claims, nil
}

// StoreDeviceAuthorization implements op.DeviceAuthorizationStorage.
func (s *storage) StoreDeviceAuthorization(_ context.Context, clientID, deviceCode, userCode string, expires time.Time, scopes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok {
		return fmt.Errorf("devoidc: unknown client %q", clientID)
	}
	now := time.Now()
	for code, e := range s.devices { // user codes are short: purge expired ones
		if now.After(e.state.Expires) {
			delete(s.userCodes, e.userCode)
			delete(s.devices, code)
		}
	}
	if _, dup := s.userCodes[userCode]; dup {
		return op.ErrDuplicateUserCode
	}
	s.devices[deviceCode] = &deviceEntry{userCode: userCode, state: &op.DeviceAuthorizationState{
		ClientID: clientID, Audience: slices.Clone(c.Audience), Scopes: scopes, Expires: expires,
	}}
	s.userCodes[userCode] = deviceCode
	return nil
}

// GetDeviceAuthorizatonState implements op.DeviceAuthorizationStorage.
func (s *storage) GetDeviceAuthorizatonState(ctx context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.devices[deviceCode]
	if !ok || e.state.ClientID != clientID {
		return nil, errors.New("devoidc: device code not found for client")
	}
	st := *e.state // a copy: the caller reads it without the lock
	if st.Done {
		// An approved device code is redeemed once (RFC 8628 section 3.5).
		delete(s.userCodes, e.userCode)
		delete(s.devices, deviceCode)
	}
	return &st, nil
}

// decideDevice approves (subject != "") or denies a pending user code.
func (s *storage) decideDevice(userCode, subject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.devices[s.userCodes[userCode]]
	if !ok || time.Now().After(e.state.Expires) {
		return fmt.Errorf("devoidc: unknown or expired user code %q", userCode)
	}
	if e.state.Done || e.state.Denied {
		return fmt.Errorf("devoidc: user code %q already used", userCode)
	}
	if subject == "" {
		e.state.Denied = true
		return nil
	}
	if _, ok := s.users[subject]; !ok {
		return fmt.Errorf("devoidc: unknown user %q", subject)
	}
	e.state.Subject, e.state.Done, e.state.AuthTime = subject, true, time.Now()
	e.state.AMR = []string{"pwd"}
	return nil
}

func (s *storage) pendingUserCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var codes []string
	now := time.Now()
	for code, dc := range s.userCodes {
		if e := s.devices[dc]; !e.state.Done && !e.state.Denied && now.Before(e.state.Expires) {
			codes = append(codes, code)
		}
	}
	slices.Sort(codes)
	return codes
}

// SigningKey implements op.AuthStorage.
func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current, nil
}

// SignatureAlgorithms implements op.AuthStorage.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var algs []jose.SignatureAlgorithm
	for _, k := range s.published {
		if !slices.Contains(algs, k.alg) {
			algs = append(algs, k.alg)
		}
	}
	return algs, nil
}

// KeySet implements op.AuthStorage: every published key, for /keys.
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]op.Key, 0, len(s.published))
	for _, k := range s.published {
		keys = append(keys, publicKey{k})
	}
	return keys, nil
}

func (s *storage) rotate(k *signingKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current = k
	s.published = append(s.published, k)
}

// Health implements op.Storage.
func (s *storage) Health(context.Context) error { return nil }

// What follows is required by op.Storage but not offered: no browser
// login (authorization code flow), no refresh tokens, no userinfo.

func (s *storage) CreateAuthRequest(context.Context, *oidc.AuthRequest, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *storage) AuthRequestByID(context.Context, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *storage) AuthRequestByCode(context.Context, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *storage) SaveAuthCode(context.Context, string, string) error { return errUnsupported }
func (s *storage) DeleteAuthRequest(context.Context, string) error    { return nil }
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errUnsupported
}
func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }
func (s *storage) RevokeToken(context.Context, string, string, string) *oidc.Error {
	return oidc.ErrUnsupportedGrantType()
}
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}
func (s *storage) SetUserinfoFromToken(context.Context, *oidc.UserInfo, string, string, string) error {
	return errUnsupported
}
func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errUnsupported
}
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errUnsupported
}
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errUnsupported
}
