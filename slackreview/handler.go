package slackreview

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/bastion-ssh/bastion/approvals"
	"github.com/bastion-ssh/bastion/store"
)

// Limits of the interactivity endpoint.
const (
	// MaxBody bounds a payload; Slack's block_actions payloads carry the
	// whole message and stay well under this.
	MaxBody = 1 << 20
	// decideTimeout keeps the answer within Slack's 3 seconds.
	decideTimeout = 2 * time.Second
)

// Path is where the endpoint is mounted: the Request URL to enter under
// Interactivity & Shortcuts in the Slack app's settings.
const Path = "/slack/interactivity"

// Decider applies a decision (approvals.Broker implements it).
type Decider interface {
	Decide(ctx context.Context, id string, who approvals.Reviewer, approve bool, reason string) (store.Approval, error)
}

var _ Decider = (*approvals.Broker)(nil)

// User is the reviewer identity a Slack user decides as.
type User struct {
	Identity string   `yaml:"identity"`
	Groups   []string `yaml:"groups"`
}

// Handler serves Slack's interactivity requests.
type Handler struct {
	// Secret is the app's signing secret; required.
	Secret []byte
	// Users maps Slack user ids (U…) to reviewer identities. A user not
	// in the map cannot decide.
	Users map[string]User
	// Decider applies decisions; Audit records refusals; Poster updates
	// the message (nil: no update).
	Decider Decider
	Audit   Auditor
	Poster  *Poster
	// Now is the clock; if nil, time.Now is used.
	Now func() time.Time
	// Replays, if set, remembers the signed requests seen in the store
	// every bastion shares (store.Store), so that a request captured and
	// sent to another bastion behind the same load balancer is refused as
	// a replay too. If nil, each bastion remembers its own.
	Replays ReplayCache

	replays replays // used when Replays is nil
}

// ReplayCache records one-time values until they expire, and says whether
// a value is new; store.Store implements it.
type ReplayCache interface {
	MarkTokenUsed(ctx context.Context, issuer, id string, expires time.Time) (first bool, err error)
}

// replayIssuer is the name signed requests are recorded under in a
// ReplayCache, apart from login tokens.
const replayIssuer = "slack-interactivity"

// ServeHTTP checks, in order: method, size, signature and timestamp (before
// the body is parsed), replay, payload, user; then decides. Each refusal is
// audited and answered with its own status; nothing changes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	src := r.RemoteAddr
	refuse := func(status int, reason, user string) {
		if err := h.refused(r.Context(), src, reason, user); err != nil {
			status = http.StatusInternalServerError // refused all the same, but say the record is missing
		}
		http.Error(w, http.StatusText(status), status)
	}
	if r.Method != http.MethodPost {
		refuse(http.StatusMethodNotAllowed, "method", "")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		refuse(http.StatusRequestEntityTooLarge, "too_large", "")
		return
	}
	if err := Verify(h.Secret, r.Header, body, now); err != nil {
		reason := map[error]string{ErrNoSignature: "unsigned", ErrBadSignature: "bad_signature", ErrStale: "stale_timestamp"}[err]
		refuse(http.StatusUnauthorized, reason, "")
		return
	}
	first, err := h.firstSeen(r.Context(), r.Header.Get("X-Slack-Signature"), now)
	if err != nil {
		// Whether it is a replay cannot be told: refused (fail closed).
		refuse(http.StatusServiceUnavailable, "replay_check_failed", "")
		return
	}
	if !first {
		refuse(http.StatusConflict, "replay", "")
		return
	}
	p, err := parsePress(body)
	if err != nil {
		refuse(http.StatusBadRequest, "malformed_payload", "")
		return
	}
	u, ok := h.Users[p.UserID]
	if !ok || u.Identity == "" {
		refuse(http.StatusForbidden, "unknown_user", p.UserID)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), decideTimeout)
	defer cancel()
	reason := "denied in Slack"
	if p.Approve {
		reason = "approved in Slack"
	}
	who := approvals.Reviewer{Identity: u.Identity, Groups: u.Groups, Channel: approvals.ChannelSlack}
	a, err := h.Decider.Decide(ctx, p.RequestID, who, p.Approve, reason)
	// Refusals by the broker are audited there (approval.refuse).
	switch {
	case errors.Is(err, approvals.ErrNotFound):
		http.Error(w, "no such request", http.StatusNotFound)
	case errors.Is(err, approvals.ErrNotReviewer), errors.Is(err, approvals.ErrSelfDecision):
		http.Error(w, "you may not decide this request", http.StatusForbidden)
	case errors.Is(err, approvals.ErrClosed), errors.Is(err, approvals.ErrExpired), errors.Is(err, approvals.ErrAlreadyDecided):
		http.Error(w, "request already decided or expired", http.StatusConflict)
	case err != nil:
		http.Error(w, "decision not recorded", http.StatusInternalServerError)
	default:
		if h.Poster != nil {
			h.Poster.Update(p.ResponseURL, a)
		}
		w.WriteHeader(http.StatusOK)
	}
}

// refused audits a request refused before it reached the broker.
func (h *Handler) refused(ctx context.Context, src, reason, slackUser string) error {
	d := map[string]any{}
	if slackUser != "" {
		d["slack_user"] = slackUser
	}
	host, _, err := net.SplitHostPort(src)
	if err != nil {
		host = src
	}
	return h.Audit.Audit(ctx, store.Event{Type: "slack.interaction", Outcome: store.OutcomeDenied,
		SourceAddr: host, Reason: reason, Detail: d})
}

// firstSeen reports whether this signed request is new, and remembers it
// for as long as its timestamp would pass (older ones are stale anyway).
func (h *Handler) firstSeen(ctx context.Context, sig string, now time.Time) (bool, error) {
	if h.Replays == nil {
		return h.replays.first(sig, now), nil
	}
	return h.Replays.MarkTokenUsed(ctx, replayIssuer, sig, now.Add(2*MaxSkew))
}
