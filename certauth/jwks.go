package certauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Bounds of JWKS fetching.
const (
	// DefaultKeyRefetchInterval is the least time between two fetches of an
	// issuer's JWKS caused by tokens naming unknown keys, so that a flood of
	// forged kids cannot turn the bastion against its identity provider.
	DefaultKeyRefetchInterval = 10 * time.Second
	// keyMaxAge is how long fetched keys are used before being fetched
	// again, so a key the issuer withdrew stops being trusted.
	keyMaxAge      = time.Hour
	jwksFetchLimit = 1 << 20
)

// keySet verifies token signatures against an issuer's jwks_uri
// (oidc.KeySet). Like go-oidc's RemoteKeySet it fetches again when a token
// names a key it has not seen (OpenID Connect Core 1.0 section 10.1.1),
// but it rate-limits those fetches and reports which check failed:
// ErrUnknownKey or ErrTokenSignature.
type keySet struct {
	url     string
	client  *http.Client
	refetch time.Duration
	timeout time.Duration
	fetchMu sync.Mutex // serialises fetches; taken before mu
	mu      sync.Mutex // guards keys and fetched
	keys    []jose.JSONWebKey
	fetched time.Time
	lastTry time.Time // guarded by fetchMu
	lastErr error     // guarded by fetchMu
}

// failureNote carries the precise reason a signature check failed back to
// the caller of go-oidc's verifier, which reduces key set errors to text.
type failureNote struct{ err error }

type failureNoteKey struct{}

func noteFailure(ctx context.Context, err error) error {
	if n, ok := ctx.Value(failureNoteKey{}).(*failureNote); ok && n.err == nil {
		n.err = err
	}
	return err
}

// VerifySignature implements oidc.KeySet. go-oidc has already checked the
// algorithm against the allow-list before calling it.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, allowedAlgorithms)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, noteFailure(ctx, fmt.Errorf("%w: %v", ErrMalformedToken, err))
	}
	kid := jws.Signatures[0].Header.KeyID
	keys, stale := k.cached()
	if stale {
		if keys, err = k.fetch(ctx, time.Time{}); err != nil {
			return nil, noteFailure(ctx, err)
		}
	}
	payload, known := verifyWith(jws, keys, kid)
	if payload != nil {
		return payload, nil
	}
	// Unknown kid, or no kid and no key verifies: the issuer may have
	// rotated. Fetch again, unless that happened a moment ago.
	if !known || kid == "" {
		if fresh, err := k.fetch(ctx, time.Now().Add(-k.refetch)); err == nil {
			keys = fresh
		}
		payload, known = verifyWith(jws, keys, kid)
		if payload != nil {
			return payload, nil
		}
	}
	if !known {
		return nil, noteFailure(ctx, fmt.Errorf("%w (kid %q)", ErrUnknownKey, kid))
	}
	return nil, noteFailure(ctx, ErrTokenSignature)
}

// verifyWith tries the keys matching kid (all keys when kid is empty).
// known reports whether any key matched kid (any key at all for an
// empty kid).
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid string) (payload []byte, known bool) {
	for i := range keys {
		if kid != "" && keys[i].KeyID != kid {
			continue
		}
		known = true
		if p, err := jws.Verify(&keys[i]); err == nil {
			return p, true
		}
	}
	return nil, known
}

func (k *keySet) cached() ([]jose.JSONWebKey, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys, k.fetched.IsZero() || time.Since(k.fetched) > keyMaxAge
}

// fetch downloads the key set unless it was fetched after notBefore, in
// which case the cached keys are returned. Failed attempts are retried at
// most once per refetch interval.
func (k *keySet) fetch(ctx context.Context, notBefore time.Time) ([]jose.JSONWebKey, error) {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	k.mu.Lock()
	keys, fetched := k.keys, k.fetched
	k.mu.Unlock()
	if !fetched.IsZero() && fetched.After(notBefore) && time.Since(fetched) <= keyMaxAge {
		return keys, nil
	}
	if k.lastErr != nil && time.Since(k.lastTry) < k.refetch {
		return keys, k.lastErr
	}
	k.lastTry = time.Now()
	keys, err := k.download(ctx)
	if err != nil {
		k.lastErr = fmt.Errorf("%w: jwks %s: %v", ErrIssuerUnavailable, k.url, err)
		return nil, k.lastErr
	}
	k.lastErr = nil
	k.mu.Lock()
	k.keys, k.fetched = keys, time.Now()
	k.mu.Unlock()
	return keys, nil
}

func (k *keySet) download(ctx context.Context) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, jwksFetchLimit))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("decode: %v", err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var key jose.JSONWebKey
		// Skip keys go-jose cannot read (other key types, encryption
		// keys) rather than distrusting the whole set.
		if json.Unmarshal(raw, &key) != nil || !key.IsPublic() || key.Use == "enc" {
			continue
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no usable signing keys")
	}
	return keys, nil
}
