package certauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// Defaults and bounds of token verification.
const (
	DefaultIdentityClaim = "email"
	DefaultGroupsClaim   = "groups"
	// DefaultIssuerMaxTTL bounds the certificates one issuer's tokens buy.
	DefaultIssuerMaxTTL = 15 * time.Minute
	// maxTokenBytes bounds a token before any parsing.
	maxTokenBytes = 16 << 10
	// discoveryTimeout bounds one fetch of discovery or JWKS documents.
	discoveryTimeout = 10 * time.Second
	// discoveryRetry is the least time between two failed discoveries.
	discoveryRetry = 5 * time.Second
	maxGroups      = 256
)

// allowedAlgorithms are the only JWS algorithms a token may use. "none"
// and the HMAC family are absent on purpose: an HS256 token "signed" with
// the issuer's public key as secret is the classic confusion attack
// (RFC 8725 section 2.1).
var allowedAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

// OIDCIssuer is an identity provider whose tokens (OIDC ID tokens, or JWT
// access tokens) buy certificates, with its own claim mapping.
type OIDCIssuer struct {
	// URL is the issuer exactly as in its tokens' iss claim. Required.
	URL string
	// Audience must be in the token's aud claim: the client id of
	// `bastion login` at this issuer, or the audience agents' tokens are
	// minted for. Required.
	Audience string
	// IdentityClaim names the claim used as identity; "" means "email".
	IdentityClaim string
	// GroupsClaim names the claim listing groups; "" means "groups".
	GroupsClaim string
	// AllowedGroups, if not empty, restricts the groups this issuer may
	// assert: the certificate carries only the token's groups found here,
	// and a token with none of them is refused.
	AllowedGroups []string
	// MaxTTL is the longest certificate granted; 0 means 15m.
	MaxTTL time.Duration
	// AllowUnverifiedEmail accepts an email identity without
	// email_verified=true. Off by default: an unverified address proves
	// nothing about who holds it.
	AllowUnverifiedEmail bool
	// BindSourceAddress restricts certificates to the address that
	// requested them (the source-address critical option).
	BindSourceAddress bool
	// AllowTokenReuse lets one token buy more than one certificate. Off
	// by default: a token copied from a log or a proxy must not mint
	// certificates until it expires.
	AllowTokenReuse bool
}

func (c OIDCIssuer) identityClaim() string { return orDefault(c.IdentityClaim, DefaultIdentityClaim) }
func (c OIDCIssuer) groupsClaim() string   { return orDefault(c.GroupsClaim, DefaultGroupsClaim) }

// MaxTTLOrDefault returns MaxTTL, or its default when zero.
func (c OIDCIssuer) MaxTTLOrDefault() time.Duration {
	if c.MaxTTL > 0 {
		return c.MaxTTL
	}
	return DefaultIssuerMaxTTL
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TokenClaims is what a token says about its holder.
type TokenClaims struct {
	Issuer   string // the trusted issuer's URL, or the claimed iss if unverified
	Subject  string
	Identity string
	Groups   []string
	Expiry   time.Time
	// TokenID names this token among its issuer's: its jti claim, or
	// "sha256:" and the hex SHA-256 of the token when it has none.
	TokenID string
	// Verified is true once the signature, issuer, audience and expiry
	// checked out; a refusal after that still returns the claims, for
	// the audit record.
	Verified bool
	// Config is the trusted issuer's configuration (nil if unknown).
	Config *OIDCIssuer
}

// VerifierOptions tune a TokenVerifier; zero values are the defaults.
type VerifierOptions struct {
	// HTTPClient fetches discovery and JWKS documents; if nil, a client
	// honouring the proxy environment is used.
	HTTPClient *http.Client
	// Clock returns the current time for expiry checks; if nil, time.Now.
	Clock func() time.Time
	// KeyRefetchInterval; zero means DefaultKeyRefetchInterval.
	KeyRefetchInterval time.Duration
}

// TokenVerifier checks tokens from several trusted issuers with go-oidc:
// exact issuer, audience, expiry, algorithm allow-list and signature.
// Discovery happens on first use, so the bastion starts (and SSH logins
// with existing certificates keep working) while a provider is down.
type TokenVerifier struct {
	issuers map[string]*trustedIssuer
}

type trustedIssuer struct {
	cfg     OIDCIssuer
	opts    VerifierOptions
	mu      sync.Mutex // guards the fields below; held during discovery
	oidc    *oidc.IDTokenVerifier
	lastTry time.Time
	lastErr error
}

// NewTokenVerifier checks the issuer configurations; it does no I/O.
func NewTokenVerifier(issuers []OIDCIssuer, opts VerifierOptions) (*TokenVerifier, error) {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Transport: http.DefaultTransport}
	}
	if opts.KeyRefetchInterval <= 0 {
		opts.KeyRefetchInterval = DefaultKeyRefetchInterval
	}
	v := &TokenVerifier{issuers: map[string]*trustedIssuer{}}
	for i, c := range issuers {
		switch {
		case c.URL == "" || c.Audience == "":
			return nil, fmt.Errorf("certauth: issuer %d: url and audience are required", i)
		case v.issuers[c.URL] != nil:
			return nil, fmt.Errorf("certauth: issuer %s listed twice", c.URL)
		case c.MaxTTL < 0 || c.MaxTTL > MaxUserTTL:
			return nil, fmt.Errorf("certauth: issuer %s: max ttl outside (0, %s]", c.URL, MaxUserTTL)
		}
		c.AllowedGroups = slices.Clone(c.AllowedGroups)
		v.issuers[c.URL] = &trustedIssuer{cfg: c, opts: opts}
	}
	return v, nil
}

// unverifiedClaims are read before verification, only to pick the issuer
// and to name the reason of a failure.
type unverifiedClaims struct {
	Issuer   string          `json:"iss"`
	Subject  string          `json:"sub"`
	Audience json.RawMessage `json:"aud"`
}

// Verify checks a token and maps its claims. On failure it returns a
// sentinel error (see reasons.go) and whatever claims are known.
func (v *TokenVerifier) Verify(ctx context.Context, raw string) (*TokenClaims, error) {
	if len(raw) > maxTokenBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedToken, maxTokenBytes)
	}
	alg, claims, err := peek(raw)
	if err != nil {
		return nil, err
	}
	out := &TokenClaims{Issuer: claims.Issuer, Subject: claims.Subject}
	if !slices.Contains(allowedAlgorithms, jose.SignatureAlgorithm(alg)) {
		return out, fmt.Errorf("%w: %q", ErrTokenAlgorithm, alg)
	}
	ti := v.issuers[claims.Issuer]
	if ti == nil {
		return out, fmt.Errorf("%w: %q", ErrUnknownIssuer, claims.Issuer)
	}
	out.Config = &ti.cfg
	verifier, err := ti.verifier(ctx)
	if err != nil {
		return out, err
	}
	note := &failureNote{}
	tok, err := verifier.Verify(context.WithValue(ctx, failureNoteKey{}, note), raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		switch {
		case note.err != nil:
			return out, note.err
		case errors.As(err, &expired):
			return out, fmt.Errorf("%w (at %s)", ErrTokenExpired, expired.Expiry.UTC().Format(time.RFC3339))
		case !audienceContains(claims.Audience, ti.cfg.Audience):
			return out, fmt.Errorf("%w: want %q", ErrWrongAudience, ti.cfg.Audience)
		}
		return out, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	out.Verified, out.Expiry = true, tok.Expiry
	var all map[string]any
	if err := tok.Claims(&all); err != nil {
		return out, fmt.Errorf("%w: %v", ErrMalformedToken, err)
	}
	out.TokenID = tokenID(all, raw)
	return out, ti.cfg.mapClaims(all, out)
}

// mapClaims fills identity and groups from verified claims and applies
// the issuer's rules.
func (c *OIDCIssuer) mapClaims(all map[string]any, out *TokenClaims) error {
	name := c.identityClaim()
	id, _ := all[name].(string)
	if err := validIdentity(id); err != nil {
		return fmt.Errorf("%w: claim %q: %v", ErrIdentityClaim, name, err)
	}
	out.Identity = id
	if name == "email" && !c.AllowUnverifiedEmail {
		// Some providers send the boolean as a string.
		if v := all["email_verified"]; v != true && v != "true" {
			return fmt.Errorf("%w: %s", ErrEmailNotVerified, id)
		}
	}
	groups, err := groupList(all[c.groupsClaim()])
	if err != nil {
		return fmt.Errorf("%w: claim %q: %v", ErrGroupsClaim, c.groupsClaim(), err)
	}
	out.Groups = groups
	if len(c.AllowedGroups) > 0 {
		kept := slices.DeleteFunc(slices.Clone(groups), func(g string) bool { return !slices.Contains(c.AllowedGroups, g) })
		if len(kept) == 0 {
			return fmt.Errorf("%w: %q not in %q", ErrGroupNotAllowed, groups, c.AllowedGroups)
		}
		out.Groups = kept
	}
	return nil
}

// groupList reads a groups claim: a list of strings, a single string, or
// absent. Names end up comma-joined in a certificate extension, so a
// comma or control character would forge extra groups: refuse them.
func groupList(v any) ([]string, error) {
	var raw []any
	switch g := v.(type) {
	case nil:
		return nil, nil
	case string:
		raw = []any{g}
	case []any:
		raw = g
	default:
		return nil, fmt.Errorf("want a list of strings, got %T", v)
	}
	if len(raw) > maxGroups {
		return nil, fmt.Errorf("more than %d groups", maxGroups)
	}
	out := make([]string, 0, len(raw))
	for _, x := range raw {
		s, ok := x.(string)
		if !ok || s == "" || len(s) > 256 || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f || r == ',' }) {
			return nil, fmt.Errorf("group %q: want a non-empty name without commas or control characters", x)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// verifier discovers the issuer on first use and builds go-oidc's verifier
// over a keySet for its jwks_uri.
func (t *trustedIssuer) verifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.oidc != nil {
		return t.oidc, nil
	}
	if t.lastErr != nil && time.Since(t.lastTry) < discoveryRetry {
		return nil, t.lastErr
	}
	t.lastTry = time.Now()
	dctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, t.opts.HTTPClient), discoveryTimeout)
	defer cancel()
	provider, err := oidc.NewProvider(dctx, t.cfg.URL)
	var meta struct {
		JWKS string `json:"jwks_uri"`
	}
	if err == nil {
		if err = provider.Claims(&meta); err == nil && meta.JWKS == "" {
			err = errors.New("discovery document has no jwks_uri")
		}
	}
	if err != nil {
		t.lastErr = fmt.Errorf("%w: %s: %v", ErrIssuerUnavailable, t.cfg.URL, err)
		return nil, t.lastErr
	}
	algs := make([]string, len(allowedAlgorithms))
	for i, a := range allowedAlgorithms {
		algs[i] = string(a)
	}
	keys := &keySet{url: meta.JWKS, client: t.opts.HTTPClient, refetch: t.opts.KeyRefetchInterval, timeout: discoveryTimeout}
	t.oidc = oidc.NewVerifier(t.cfg.URL, keys, &oidc.Config{
		ClientID:             t.cfg.Audience,
		SupportedSigningAlgs: algs,
		Now:                  t.opts.Clock,
	})
	t.lastErr = nil
	return t.oidc, nil
}

// maxJTIBytes bounds a jti kept as is; a longer one is hashed like a
// token without one.
const maxJTIBytes = 256

// tokenID is the token's jti (RFC 7519 section 4.1.7), or a hash of the
// whole token when it has none: either way, the same token gets the same
// id, and the id reveals nothing that would let anyone use the token.
func tokenID(claims map[string]any, raw string) string {
	if jti, ok := claims["jti"].(string); ok && jti != "" && len(jti) <= maxJTIBytes {
		return jti
	}
	sum := sha256.Sum256([]byte(raw))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// peek decodes the JOSE header and claims without verifying anything.
func peek(raw string) (alg string, c unverifiedClaims, err error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", c, fmt.Errorf("%w: want three dot-separated parts, got %d", ErrMalformedToken, len(parts))
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return "", c, fmt.Errorf("%w: header: %v", ErrMalformedToken, err)
	}
	if err := decodeSegment(parts[1], &c); err != nil {
		return hdr.Alg, c, fmt.Errorf("%w: claims: %v", ErrMalformedToken, err)
	}
	return hdr.Alg, c, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// audienceContains reads aud as a string or a list of strings.
func audienceContains(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want
	}
	var many []string
	return json.Unmarshal(raw, &many) == nil && slices.Contains(many, want)
}
