package certauth

import (
	"errors"
	"net/http"
)

// Reasons a certificate request is refused. Each is a sentinel (errors.Is
// in callers) with a stable reason code that the audit log and the HTTP
// API report, so "expired token" and "wrong audience" stay apart.
var (
	ErrMalformedRequest  = errors.New("certauth: malformed certificate request")
	ErrMalformedToken    = errors.New("certauth: malformed token")
	ErrTokenAlgorithm    = errors.New("certauth: token signing algorithm not allowed")
	ErrUnknownIssuer     = errors.New("certauth: token from an untrusted issuer")
	ErrUnknownKey        = errors.New("certauth: token signed with a key its issuer does not publish")
	ErrTokenSignature    = errors.New("certauth: token signature invalid")
	ErrTokenExpired      = errors.New("certauth: token has expired")
	ErrWrongAudience     = errors.New("certauth: token audience is not this bastion")
	ErrTokenInvalid      = errors.New("certauth: token invalid")
	ErrIdentityClaim     = errors.New("certauth: token carries no usable identity")
	ErrEmailNotVerified  = errors.New("certauth: email address not verified by the issuer")
	ErrGroupsClaim       = errors.New("certauth: token groups claim unusable")
	ErrGroupNotAllowed   = errors.New("certauth: no group allowed by this issuer")
	ErrTTLTooLong        = errors.New("certauth: requested ttl exceeds the issuer's maximum")
	ErrBadTTL            = errors.New("certauth: invalid ttl")
	ErrBadPublicKey      = errors.New("certauth: unusable public key")
	ErrIssuerUnavailable = errors.New("certauth: identity provider unavailable")
	ErrAuditFailed       = errors.New("certauth: audit record could not be written")
	ErrRateLimited       = errors.New("certauth: too many certificate requests from this address")
	ErrTokenReused       = errors.New("certauth: token already exchanged for a certificate")
	ErrTokenLedger       = errors.New("certauth: used-token record could not be written")
)

type reason struct {
	err    error
	code   string
	status int
}

// reasons maps each refusal to its code and HTTP status: 400 for a
// request that can never succeed, 401 for a token that does not prove who
// the caller is, 403 for a proven identity that is not allowed.
var reasons = []reason{
	{ErrMalformedRequest, "malformed_request", http.StatusBadRequest},
	{ErrBadTTL, "invalid_ttl", http.StatusBadRequest},
	{ErrTTLTooLong, "ttl_too_long", http.StatusBadRequest},
	{ErrBadPublicKey, "malformed_public_key", http.StatusBadRequest},
	{ErrMalformedToken, "malformed_token", http.StatusUnauthorized},
	{ErrTokenAlgorithm, "bad_algorithm", http.StatusUnauthorized},
	{ErrUnknownIssuer, "wrong_issuer", http.StatusUnauthorized},
	{ErrUnknownKey, "unknown_key", http.StatusUnauthorized},
	{ErrTokenSignature, "bad_signature", http.StatusUnauthorized},
	{ErrTokenExpired, "expired_token", http.StatusUnauthorized},
	{ErrWrongAudience, "wrong_audience", http.StatusUnauthorized},
	{ErrTokenInvalid, "invalid_token", http.StatusUnauthorized},
	{ErrTokenReused, "token_reused", http.StatusUnauthorized},
	{ErrIdentityClaim, "missing_identity", http.StatusForbidden},
	{ErrEmailNotVerified, "email_not_verified", http.StatusForbidden},
	{ErrGroupsClaim, "invalid_groups", http.StatusForbidden},
	{ErrGroupNotAllowed, "group_not_allowed", http.StatusForbidden},
	{ErrBadRequest, "bad_request", http.StatusBadRequest},
	{ErrIssuerUnavailable, "issuer_unavailable", http.StatusServiceUnavailable},
	{ErrAuditFailed, "audit_failed", http.StatusInternalServerError},
	{ErrTokenLedger, "token_ledger_failed", http.StatusInternalServerError},
	{ErrRateLimited, "rate_limited", http.StatusTooManyRequests},
	// A signer's failure is the bastion's, not the caller's: 500 keeps its
	// text (addresses, Vault's messages) out of the answer, and the code
	// tells the audit log which failure it was.
	{ErrSignerUnavailable, "signer_unavailable", http.StatusInternalServerError},
	{ErrSignerRefused, "signer_refused", http.StatusInternalServerError},
	{ErrSignerMismatch, "signer_mismatch", http.StatusInternalServerError},
}

// Reason returns the stable code of a refusal, e.g. "expired_token", or
// "internal" for an error that is none of the sentinels above.
func Reason(err error) string {
	code, _ := classify(err)
	return code
}

func classify(err error) (code string, status int) {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.code, r.status
		}
	}
	return "internal", http.StatusInternalServerError
}
