package slackreview

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/bastion-ssh/bastion/approvals"
	"github.com/bastion-ssh/bastion/store"
)

// Named timeouts of the Slack client.
const (
	// postTimeout bounds one HTTP attempt to Slack.
	postTimeout = 10 * time.Second
)

// DefaultBackoff is the wait before each retry of a failed post: five
// attempts over about half a minute, then the failure stands (audited) and
// the request stays decidable from the CLI.
var DefaultBackoff = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}

// DefaultResponseURLPrefix is where Slack's response_url points. Updates
// go only to URLs under an allowed prefix, so a payload cannot make the
// bastion post elsewhere.
const DefaultResponseURLPrefix = "https://hooks.slack.com/"

// Auditor writes audit events (store.Store implements it).
type Auditor interface {
	Audit(ctx context.Context, e store.Event) error
}

// Poster sends messages to Slack in the background. Every attempt that
// fails, and the final outcome, is audited.
type Poster struct {
	// WebhookURL is the incoming webhook new requests are posted to.
	WebhookURL string
	// Client: nil means one with postTimeout.
	Client *http.Client
	// Audit records post outcomes; required.
	Audit Auditor
	// Log: nil means slog.Default().
	Log *slog.Logger
	// Backoff: nil means DefaultBackoff.
	Backoff []time.Duration
	// ResponseURLPrefixes: nil means DefaultResponseURLPrefix only.
	ResponseURLPrefixes []string

	ctx context.Context // ends retries at shutdown
	wg  sync.WaitGroup  // one per message in flight; Close waits
}

// Start sets the poster's lifetime: posts in flight stop retrying when ctx
// ends. Call before the first Post.
func (p *Poster) Start(ctx context.Context) { p.ctx = ctx }

// Close waits for messages in flight.
func (p *Poster) Close() { p.wg.Wait() }

// Post sends the message for a new request; it does not block. It is
// meant as approvals.Broker.OnRequest.
func (p *Poster) Post(a store.Approval) {
	p.send("slack.post", a, p.WebhookURL, requestMessage(a))
}

// Closed posts a follow-up when a request closed other than from Slack
// (CLI, timeout, withdrawal): an incoming webhook cannot edit its message.
// It is meant as approvals.Broker.OnClose.
func (p *Poster) Closed(a store.Approval) {
	if n := len(a.Decisions); n > 0 && a.Decisions[n-1].Channel == approvals.ChannelSlack {
		return // the message was updated through response_url
	}
	msg := outcomeMessage(a)
	msg.ReplaceOriginal = false
	p.send("slack.post", a, p.WebhookURL, msg)
}

// Update replaces the message a button was pressed on.
func (p *Poster) Update(responseURL string, a store.Approval) {
	if !p.allowed(responseURL) {
		p.audit(a, "slack.update", store.OutcomeDenied, "response_url_not_allowed", 0, "")
		return
	}
	p.send("slack.update", a, responseURL, outcomeMessage(a))
}

func (p *Poster) allowed(u string) bool {
	prefixes := p.ResponseURLPrefixes
	if prefixes == nil {
		prefixes = []string{DefaultResponseURLPrefix}
	}
	for _, pre := range prefixes {
		if strings.HasPrefix(u, pre) {
			return true
		}
	}
	return false
}

func (p *Poster) send(typ string, a store.Approval, url string, msg *slack.WebhookMessage) {
	if url == "" {
		return
	}
	ctx := p.ctx
	if ctx == nil {
		ctx = context.Background() // not started: posts are still bounded by postTimeout and the backoff
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		backoff := p.Backoff
		if backoff == nil {
			backoff = DefaultBackoff
		}
		client := p.Client
		if client == nil {
			client = &http.Client{Timeout: postTimeout}
		}
		for attempt := 0; ; attempt++ {
			actx, cancel := context.WithTimeout(ctx, postTimeout)
			err := slack.PostWebhookCustomHTTPContext(actx, url, client, msg)
			cancel()
			if err == nil {
				p.audit(a, typ, store.OutcomeAllowed, "sent", attempt+1, "")
				return
			}
			p.audit(a, typ, store.OutcomeError, "attempt_failed", attempt+1, describe(err))
			if attempt >= len(backoff) {
				p.audit(a, typ, store.OutcomeError, "gave_up", attempt+1, "request stays decidable from the CLI")
				return
			}
			select {
			case <-ctx.Done():
				p.audit(a, typ, store.OutcomeError, "shutdown", attempt+1, "")
				return
			case <-time.After(backoff[attempt]):
			}
		}
	}()
}

func (p *Poster) audit(a store.Approval, typ, outcome, reason string, attempt int, detail string) {
	d := map[string]any{"request": a.ID, "attempt": attempt}
	if detail != "" {
		d["error"] = detail
	}
	// The post has happened or not regardless; a failed audit is logged
	// so that an operator sees both failures.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // outlives a cancelled lifetime: the outcome must be written
	defer cancel()
	if err := p.Audit.Audit(ctx, store.Event{Type: typ, Outcome: outcome, SessionID: a.SessionID, Identity: a.Requester,
		Target: a.Target, Login: a.Login, Reason: reason, Detail: d}); err != nil {
		p.log().Error("slack: audit failed", "request", a.ID, "err", err)
	}
}

// describe says why a post failed without the URL: a webhook URL is a
// credential and must not reach the audit log.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	var se slack.StatusCodeError
	if errors.As(err, &se) {
		return fmt.Sprintf("HTTP %d", se.Code)
	}
	return "post failed"
}

func (p *Poster) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}
