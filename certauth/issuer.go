package certauth

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/store"
)

// Audit event types written by the Issuer.
const (
	EventIssue   = "cert.issue"
	EventRefused = "cert.refused"
)

// minRSABits is the smallest RSA key certified (OpenSSH refuses < 1024;
// NIST SP 800-131A retires < 2048).
const minRSABits = 2048

// Auditor records audit events; *store.Store implements it.
type Auditor interface {
	Audit(ctx context.Context, e store.Event) error
}

// Tokens verifies login tokens; *TokenVerifier implements it.
type Tokens interface {
	Verify(ctx context.Context, raw string) (*TokenClaims, error)
}

// UsedTokens remembers which tokens bought a certificate; *store.Store
// implements it.
type UsedTokens interface {
	// MarkTokenUsed records issuer's token id, to be kept until expires,
	// and reports whether it was not recorded before.
	MarkTokenUsed(ctx context.Context, issuer, id string, expires time.Time) (first bool, err error)
}

var (
	_ Auditor    = (*store.Store)(nil)
	_ Tokens     = (*TokenVerifier)(nil)
	_ UsedTokens = (*store.Store)(nil)
)

// Issuer turns a verified token and a public key into a short-lived user
// certificate. Every issuance and every refusal is an audit event, and a
// certificate whose issuance cannot be audited is not handed out.
type Issuer struct {
	Authority Signer  // signs; required
	Tokens    Tokens  // required
	Audit     Auditor // required
	// Used records each token exchanged, so that a token buys one
	// certificate (unless its issuer allows reuse). Required: if nil,
	// every such request is refused.
	Used UsedTokens
	// Logger receives operational messages; if nil, they are discarded.
	Logger *slog.Logger
}

// IssueRequest is one certificate request.
type IssueRequest struct {
	Token     string // OIDC ID token or JWT access token; never logged
	PublicKey string // authorized_keys line
	TTL       string // Go duration, e.g. "15m"; "" means the default
	// RemoteAddr is the requester's address ("IP" or "IP:port").
	RemoteAddr string
}

// Issued is a certificate handed out.
type Issued struct {
	Certificate *ssh.Certificate
	Identity    string
	Groups      []string
	Issuer      string
	Subject     string
}

// Issue verifies the request and signs a certificate. Errors wrap one of
// the sentinels in reasons.go.
func (i *Issuer) Issue(ctx context.Context, r IssueRequest) (*Issued, error) {
	claims, err := i.Tokens.Verify(ctx, r.Token)
	if claims == nil {
		claims = &TokenClaims{}
	}
	if err == nil && claims.Config == nil {
		err = errNoConfig
	}
	// The key is read even when the token failed, so that the refusal's
	// audit record names the key that was presented.
	pub, keyErr := parseUserKey(r.PublicKey)
	if err == nil {
		err = keyErr
	}
	var ttl time.Duration
	if err == nil {
		ttl, err = requestTTL(r.TTL, claims.Config.MaxTTLOrDefault())
	}
	ip := remoteIP(r.RemoteAddr)
	var cert *ssh.Certificate
	if err == nil {
		req := UserRequest{PublicKey: pub, Identity: claims.Identity, Groups: claims.Groups, TTL: ttl}
		if claims.Config.BindSourceAddress {
			if ip == "" {
				err = fmt.Errorf("%w: no remote address to bind the certificate to", ErrBadRequest)
			}
			req.SourceAddress = ip
		}
		if err == nil && !claims.Config.AllowTokenReuse {
			err = i.markUsed(ctx, claims)
		}
		if err == nil {
			cert, err = i.Authority.SignUser(req)
		}
	}
	ev := store.Event{Type: EventIssue, Outcome: store.OutcomeAllowed, Identity: claims.Identity, SourceAddr: ip,
		Detail: map[string]any{"issuer": claims.Issuer, "subject": claims.Subject, "groups": claims.Groups,
			"token_verified": claims.Verified}}
	if claims.TokenID != "" {
		ev.Detail["token_id"] = claims.TokenID
	}
	if pub != nil {
		ev.Detail["fingerprint"] = ssh.FingerprintSHA256(pub)
	}
	if err != nil {
		ev.Type, ev.Outcome, ev.Reason = EventRefused, store.OutcomeDenied, Reason(err)
		ev.Detail["error"] = err.Error()
		if aerr := i.Audit.Audit(ctx, ev); aerr != nil {
			i.logger().Error("audit of a refused certificate request failed", "err", aerr)
		}
		return nil, err
	}
	ev.Reason = "oidc login"
	ev.Detail["serial"] = strconv.FormatUint(cert.Serial, 10)
	ev.Detail["key_id"] = cert.KeyId
	ev.Detail["principals"] = cert.ValidPrincipals
	ev.Detail["valid_after"] = time.Unix(int64(cert.ValidAfter), 0).UTC().Format(time.RFC3339)
	ev.Detail["valid_before"] = time.Unix(int64(cert.ValidBefore), 0).UTC().Format(time.RFC3339)
	if sa := cert.CriticalOptions["source-address"]; sa != "" {
		ev.Detail["source_address"] = sa
	}
	if err := i.Audit.Audit(ctx, ev); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuditFailed, err)
	}
	return &Issued{Certificate: cert, Identity: claims.Identity, Groups: claims.Groups,
		Issuer: claims.Issuer, Subject: claims.Subject}, nil
}

// markUsed records the token as exchanged; a token seen before is
// refused. It runs after every other check, so a request refused for
// another reason does not use the token up, and before signing, so two
// concurrent requests with one token cannot both get a certificate (the
// store's insert decides which is first).
func (i *Issuer) markUsed(ctx context.Context, claims *TokenClaims) error {
	if i.Used == nil {
		return fmt.Errorf("%w: no used-token store configured", ErrTokenLedger)
	}
	first, err := i.Used.MarkTokenUsed(ctx, claims.Issuer, claims.TokenID, claims.Expiry)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", ErrTokenLedger, err)
	case !first:
		return fmt.Errorf("%w: %s (ask the issuer for a new token)", ErrTokenReused, claims.TokenID)
	}
	return nil
}

// refuse audits a request that failed before it reached Issue (a body that
// is not a request at all).
func (i *Issuer) refuse(ctx context.Context, remote string, err error) {
	ev := store.Event{Type: EventRefused, Outcome: store.OutcomeDenied, SourceAddr: remoteIP(remote),
		Reason: Reason(err), Detail: map[string]any{"error": err.Error()}}
	if aerr := i.Audit.Audit(ctx, ev); aerr != nil {
		i.logger().Error("audit of a refused certificate request failed", "err", aerr)
	}
}

func (i *Issuer) logger() *slog.Logger {
	if i.Logger != nil {
		return i.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// parseUserKey reads exactly one authorized_keys line holding a plain
// public key of an acceptable type and size.
func parseUserKey(line string) (ssh.PublicKey, error) {
	if line == "" {
		return nil, fmt.Errorf("%w: missing public_key", ErrBadPublicKey)
	}
	pub, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPublicKey, err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w: more than one key", ErrBadPublicKey)
	}
	if _, ok := pub.(*ssh.Certificate); ok {
		return nil, fmt.Errorf("%w: a certificate, not a public key", ErrBadPublicKey)
	}
	switch pub.Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
		ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256:
	case ssh.KeyAlgoRSA:
		if k, ok := pub.(ssh.CryptoPublicKey).CryptoPublicKey().(*rsa.PublicKey); !ok || k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("%w: rsa keys need at least %d bits", ErrBadPublicKey, minRSABits)
		}
	default:
		return nil, fmt.Errorf("%w: key type %s not accepted", ErrBadPublicKey, pub.Type())
	}
	return pub, nil
}

// requestTTL parses the requested lifetime. Above the maximum is an
// error, not a silent clamp: the caller asked for something it will not
// get and should know.
func requestTTL(s string, max time.Duration) (time.Duration, error) {
	if s == "" {
		return min(DefaultUserTTL, max), nil
	}
	ttl, err := time.ParseDuration(s)
	if err != nil || ttl <= 0 {
		return 0, fmt.Errorf("%w: %q (want a positive duration such as 15m)", ErrBadTTL, s)
	}
	if ttl > max {
		return 0, fmt.Errorf("%w: %s requested, %s allowed", ErrTTLTooLong, ttl, max)
	}
	return ttl, nil
}

func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	if ip := net.ParseIP(addr); ip != nil {
		return ip.String()
	}
	return ""
}

// errNoConfig guards against a Tokens implementation that verifies a
// token without saying which issuer it trusts.
var errNoConfig = errors.New("certauth: verified token has no issuer configuration")
