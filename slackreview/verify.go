package slackreview

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxSkew is how far a request's timestamp may be from now: Slack's
// documented five minutes. Older requests are refused as possible replays.
const MaxSkew = 5 * time.Minute

// Reasons a request is refused before its body is read.
var (
	// ErrNoSignature: X-Slack-Signature or X-Slack-Request-Timestamp is missing.
	ErrNoSignature = errors.New("slackreview: request is not signed")
	// ErrBadSignature: the signature does not match the body.
	ErrBadSignature = errors.New("slackreview: signature does not match")
	// ErrStale: the timestamp is outside MaxSkew.
	ErrStale = errors.New("slackreview: timestamp outside the 5-minute window")
	// ErrReplay: this exact signed request was already received.
	ErrReplay = errors.New("slackreview: request replayed")
)

// Sign returns the v0 signature of body at timestamp ts: "v0=" and the hex
// HMAC-SHA256 of "v0:TS:BODY" keyed with the signing secret.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a request's signature headers against its raw body, in
// constant time, and that its timestamp is within MaxSkew of now.
func Verify(secret []byte, h http.Header, body []byte, now time.Time) error {
	sig, ts := h.Get("X-Slack-Signature"), h.Get("X-Slack-Request-Timestamp")
	if sig == "" || ts == "" {
		return ErrNoSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrStale
	}
	if d := now.Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
		return ErrStale
	}
	if !strings.HasPrefix(sig, "v0=") || !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(sig)) {
		return ErrBadSignature
	}
	return nil
}

// replays remembers the signatures seen within the last MaxSkew (older
// ones are refused as stale anyway), so a captured request cannot be sent
// twice to this bastion.
type replays struct {
	mu   sync.Mutex // guards seen
	seen map[string]time.Time
}

// first reports whether sig is new, and remembers it.
func (r *replays) first(sig string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]time.Time{}
	}
	for s, at := range r.seen {
		if now.Sub(at) > 2*MaxSkew {
			delete(r.seen, s)
		}
	}
	if _, ok := r.seen[sig]; ok {
		return false
	}
	r.seen[sig] = now
	return true
}
