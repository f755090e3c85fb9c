package approvals

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bastion-ssh/bastion/policies"
	"github.com/bastion-ssh/bastion/store"
)

// States of a request.
const (
	StatePending   = "pending"
	StateApproved  = "approved"
	StateDenied    = "denied"
	StateExpired   = "expired"
	StateWithdrawn = "withdrawn"
)

// Channels a decision arrives by.
const (
	ChannelCLI   = "cli"
	ChannelSlack = "slack"
)

// DefaultPollInterval is how often Wait re-reads a request from the store,
// to see decisions taken by another bastion sharing it.
const DefaultPollInterval = time.Second

// Store is what the broker needs of the store (store.Store implements it).
type Store interface {
	CreateApproval(ctx context.Context, a store.Approval) error
	Approval(ctx context.Context, id string) (store.Approval, error)
	Approvals(ctx context.Context, f store.ApprovalFilter) ([]store.Approval, error)
	UpdateApproval(ctx context.Context, id string, fn func(a *store.Approval) (*store.ApprovalDecision, error)) (store.Approval, error)
	Audit(ctx context.Context, e store.Event) error
	Events(ctx context.Context, f store.EventFilter) ([]store.Event, error)
}

var _ Store = (*store.Store)(nil)

// Broker creates, decides and waits for requests. Safe for concurrent use.
type Broker struct {
	store Store
	key   []byte

	// Now is the clock; if nil, time.Now is used.
	Now func() time.Time
	// OnRequest, if set, is called after a request is stored and audited
	// (to post it to Slack). It must not block.
	OnRequest func(a store.Approval)
	// OnClose, if set, is called after a request closes (to update the
	// Slack message). It must not block.
	OnClose func(a store.Approval)
	// MaskReason masks a reviewer's typed reason before it is stored,
	// audited or posted: it is free text and may quote PHI. The bastion
	// sets its audit masker; nil keeps the reason as typed.
	MaskReason func(string) string
	// PollInterval: zero means DefaultPollInterval.
	PollInterval time.Duration

	mu      sync.Mutex // guards waiters
	waiters map[string][]chan struct{}
}

// New returns a broker over s. key makes the fingerprint that binds a
// request to its exact command (the stored command is masked); it must
// be secret, so that a fingerprint does not reveal a low-entropy value.
func New(s Store, key []byte) *Broker {
	return &Broker{store: s, key: key, waiters: map[string][]chan struct{}{}}
}

// Request is a command held for review.
type Request struct {
	Requester     string
	SourceAddr    string
	Target        string
	Login         string
	SessionID     string
	Command       string // masked, for people to read
	Exact         string // the exact command, never stored
	Justification string // masked
	Rule          string
	Review        policies.Review
}

// Reviewer is who decides, as authenticated by the channel.
type Reviewer struct {
	Identity string
	Groups   []string
	Channel  string
}

func (b *Broker) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// fingerprint is the keyed digest binding a request to its exact command,
// identity, target and login.
func (b *Broker) fingerprint(identity, login, target, command string) string {
	m := hmac.New(sha256.New, b.key)
	for _, s := range []string{identity, login, target, command} {
		fmt.Fprintf(m, "%d:%s;", len(s), s)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// Open stores a new pending request and audits it.
func (b *Broker) Open(ctx context.Context, r Request) (store.Approval, error) {
	id, err := newID()
	if err != nil {
		return store.Approval{}, err
	}
	now := b.now().UTC()
	a := store.Approval{
		ID: id, Requester: r.Requester, SourceAddr: r.SourceAddr, Target: r.Target, Login: r.Login,
		SessionID: r.SessionID, Command: r.Command, CommandKey: b.fingerprint(r.Requester, r.Login, r.Target, r.Exact),
		Justification: r.Justification, Rule: r.Rule, Reviewers: r.Review.Reviewers,
		Needed: max(r.Review.Approvals, 1), CreatedAt: now, Deadline: now.Add(r.Review.Timeout), State: StatePending,
	}
	if r.Review.Timeout <= 0 {
		a.Deadline = now.Add(policies.DefaultReviewTimeout)
	}
	// Audit first: a request that cannot be recorded is not opened (and
	// its command does not run).
	if err := b.audit(ctx, a, "approval.request", store.OutcomeInfo, r.Requester, "", map[string]any{
		"reviewers": a.Reviewers, "approvals": a.Needed, "deadline": a.Deadline.Format(time.RFC3339), "justification": a.Justification,
	}); err != nil {
		return store.Approval{}, err
	}
	if err := b.store.CreateApproval(ctx, a); err != nil {
		return store.Approval{}, err
	}
	if b.OnRequest != nil {
		b.OnRequest(a)
	}
	return a, nil
}

// Decide records who approves or denies request id. A refusal leaves the
// request unchanged and is audited with its reason code.
func (b *Broker) Decide(ctx context.Context, id string, who Reviewer, approve bool, reason string) (store.Approval, error) {
	verb := "deny"
	if approve {
		verb = "approve"
	}
	reason = strings.TrimSpace(reason)
	if b.MaskReason != nil {
		reason = b.MaskReason(reason)
	}
	refuse := func(a store.Approval, err error) (store.Approval, error) {
		a.ID = id
		if aerr := b.audit(ctx, a, "approval.refuse", store.OutcomeDenied, who.Identity, code(err),
			map[string]any{"decision": verb, "channel": who.Channel}); aerr != nil {
			return a, errors.Join(err, aerr)
		}
		return a, err
	}
	if reason == "" {
		return refuse(store.Approval{}, ErrNoReason)
	}
	// The attempt is evidence before it takes effect.
	if err := b.audit(ctx, store.Approval{ID: id}, "approval.decide", store.OutcomeInfo, who.Identity, "attempt",
		map[string]any{"decision": verb, "channel": who.Channel, "reason": reason}); err != nil {
		return store.Approval{}, err
	}
	now := b.now().UTC()
	var expired bool
	a, err := b.store.UpdateApproval(ctx, id, func(a *store.Approval) (*store.ApprovalDecision, error) {
		switch {
		case a.State != StatePending:
			return nil, ErrClosed
		case !now.Before(a.Deadline):
			a.State, a.ClosedAt, expired = StateExpired, &now, true
			return nil, nil
		case a.Requester == who.Identity:
			return nil, ErrSelfDecision
		case !mayDecide(*a, who):
			return nil, ErrNotReviewer
		}
		for _, d := range a.Decisions {
			if d.Reviewer == who.Identity {
				return nil, ErrAlreadyDecided
			}
		}
		d := &store.ApprovalDecision{Reviewer: who.Identity, Channel: who.Channel, Approve: approve, Reason: reason, At: now}
		if !approve {
			a.State, a.ClosedAt = StateDenied, &now
		} else if approvals(a.Decisions)+1 >= a.Needed {
			a.State, a.ClosedAt = StateApproved, &now
		}
		return d, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return refuse(store.Approval{}, ErrNotFound)
	}
	if err != nil && !isRefusal(err) {
		return a, err
	}
	if expired {
		if cerr := b.closed(ctx, a, ""); cerr != nil {
			return a, cerr
		}
		return refuse(a, ErrExpired)
	}
	if err != nil {
		return refuse(a, err)
	}
	if aerr := b.audit(ctx, a, "approval.decide", store.OutcomeAllowed, who.Identity, verb,
		map[string]any{"decision": verb, "channel": who.Channel, "reason": reason, "state": a.State,
			"approvals": approvals(a.Decisions), "needed": a.Needed}); aerr != nil {
		return a, aerr
	}
	b.notify(id)
	if a.State != StatePending {
		return a, b.closed(ctx, a, who.Identity)
	}
	return a, nil
}

// Withdraw closes a pending request on its requester's behalf (Ctrl-C,
// the channel closed). A closed request stays as it is.
func (b *Broker) Withdraw(ctx context.Context, id, by, why string) (store.Approval, error) {
	now := b.now().UTC()
	a, err := b.store.UpdateApproval(ctx, id, func(a *store.Approval) (*store.ApprovalDecision, error) {
		if a.State != StatePending {
			return nil, ErrClosed
		}
		a.State, a.ClosedAt = StateWithdrawn, &now
		return nil, nil
	})
	if err != nil {
		return a, err
	}
	b.notify(id)
	if err := b.audit(ctx, a, "approval.withdraw", store.OutcomeInfo, by, why, nil); err != nil {
		return a, err
	}
	return a, b.closed(ctx, a, by)
}

// auditedEventRetry is how soon Wait reads again an approved request
// whose approval events are not yet in the audit trail.
const auditedEventRetry = 50 * time.Millisecond

// Wait blocks until request id is closed and returns it. At the deadline a
// pending request is expired (a deny). If ctx ends first, Wait returns
// ctx's error and the request stays pending (the caller withdraws it).
func (b *Broker) Wait(ctx context.Context, id string) (store.Approval, error) {
	ch := b.subscribe(id)
	defer b.unsubscribe(id, ch)
	poll := b.PollInterval
	if poll <= 0 {
		poll = DefaultPollInterval
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		a, err := b.store.Approval(ctx, id)
		if err != nil {
			return a, err
		}
		left := a.Deadline.Sub(b.now())
		switch {
		case a.State == StateApproved:
			// A decision commits the row before its audit event, and
			// another bastion's commit wakes this one at once: wait for
			// the events that Use will count, until the deadline (a row
			// approved without them is refused there).
			n, err := b.auditedApprovals(ctx, id)
			if err != nil {
				return a, err
			}
			if n >= a.Needed || left <= 0 {
				return a, nil
			}
			// The events follow the commit within the decider's own
			// write, and nothing notifies of them: read again soon, not
			// at the next poll.
			left = min(left, auditedEventRetry)
		case a.State != StatePending:
			return a, nil
		case left <= 0:
			return b.expire(ctx, id)
		}
		timer := time.NewTimer(left)
		select {
		case <-ctx.Done():
			timer.Stop()
			return a, context.Cause(ctx)
		case <-ch:
		case <-ticker.C:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// expire closes a pending request whose deadline passed.
func (b *Broker) expire(ctx context.Context, id string) (store.Approval, error) {
	now := b.now().UTC()
	a, err := b.store.UpdateApproval(ctx, id, func(a *store.Approval) (*store.ApprovalDecision, error) {
		if a.State == StatePending && !now.Before(a.Deadline) {
			a.State, a.ClosedAt = StateExpired, &now
		}
		return nil, nil
	})
	if err != nil {
		return a, err
	}
	if a.State == StateExpired && a.ClosedAt != nil && a.ClosedAt.Equal(now) {
		return a, b.closed(ctx, a, "")
	}
	return a, nil
}

// Use spends the one run of an approved request on a re-run of the
// identical command (BASTION_REQUEST). Refusals are audited.
func (b *Broker) Use(ctx context.Context, id string, r Request) (store.Approval, error) {
	now := b.now().UTC()
	key := b.fingerprint(r.Requester, r.Login, r.Target, r.Exact)
	audited, err := b.auditedApprovals(ctx, id)
	if err != nil {
		return store.Approval{}, err
	}
	a, err := b.store.UpdateApproval(ctx, id, func(a *store.Approval) (*store.ApprovalDecision, error) {
		switch {
		case a.Requester != r.Requester || a.Target != r.Target || a.Login != r.Login ||
			!hmac.Equal([]byte(a.CommandKey), []byte(key)):
			return nil, ErrMismatch
		case a.State != StateApproved:
			return nil, ErrNotApproved
		case audited < a.Needed:
			// The row says approved but the audit chain does not hold
			// the decisions: edited by hand, not decided.
			return nil, ErrNotApproved
		case a.UsedAt != nil:
			return nil, ErrUsed
		}
		a.UsedAt = &now
		return nil, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		err = ErrNotFound
	}
	outcome, reason := store.OutcomeAllowed, "used"
	if err != nil {
		if !isRefusal(err) {
			return a, err
		}
		outcome, reason = store.OutcomeDenied, code(err)
	}
	a.ID = id
	ev := a
	ev.SessionID = r.SessionID // the session that runs it
	if aerr := b.audit(ctx, ev, "approval.use", outcome, r.Requester, reason, map[string]any{"state": a.State}); aerr != nil {
		return a, errors.Join(err, aerr)
	}
	return a, err
}

// auditedApprovals counts the reviewers whose approval of request id is
// in the audit trail. The approvals table is not chained; the trail is,
// so a row edited to "approved" does not count as a decision.
func (b *Broker) auditedApprovals(ctx context.Context, id string) (int, error) {
	a, err := b.store.Approval(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil // Use's update says so
	}
	if err != nil {
		return 0, err
	}
	// A decision's event carries the session that asked.
	evs, err := b.store.Events(ctx, store.EventFilter{Type: "approval.decide", SessionID: a.SessionID, Newest: true})
	if err != nil {
		return 0, err
	}
	by := map[string]bool{}
	for _, e := range evs {
		if e.Outcome == store.OutcomeAllowed && e.Reason == "approve" && e.Detail["request"] == id {
			by[e.Identity] = true
		}
	}
	return len(by), nil
}

// Get returns one request.
func (b *Broker) Get(ctx context.Context, id string) (store.Approval, error) {
	a, err := b.store.Approval(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return a, ErrNotFound
	}
	return a, err
}

// List returns requests, newest first.
func (b *Broker) List(ctx context.Context, f store.ApprovalFilter) ([]store.Approval, error) {
	return b.store.Approvals(ctx, f)
}

// MayView reports whether who may see request a: its requester, or one of
// its reviewers.
func MayView(a store.Approval, who Reviewer) bool {
	return a.Requester == who.Identity || mayDecide(a, who)
}

func mayDecide(a store.Approval, who Reviewer) bool {
	return policies.Review{Reviewers: a.Reviewers}.MayDecide(who.Identity, who.Groups)
}

func approvals(ds []store.ApprovalDecision) int {
	n := 0
	for _, d := range ds {
		if d.Approve {
			n++
		}
	}
	return n
}

func isRefusal(err error) bool {
	return slices.ContainsFunc([]error{ErrNotFound, ErrSelfDecision, ErrNotReviewer, ErrClosed, ErrExpired,
		ErrAlreadyDecided, ErrNotApproved, ErrUsed, ErrMismatch, ErrNoReason}, func(e error) bool { return errors.Is(err, e) })
}

// closed audits a request's final state and tells OnClose.
func (b *Broker) closed(ctx context.Context, a store.Approval, by string) error {
	if err := b.audit(ctx, a, "approval.close", store.OutcomeInfo, by, a.State, nil); err != nil {
		return err
	}
	if b.OnClose != nil {
		b.OnClose(a)
	}
	return nil
}

func (b *Broker) audit(ctx context.Context, a store.Approval, typ, outcome, actor, reason string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	detail["request"] = a.ID
	if a.Rule != "" {
		detail["rule"] = a.Rule
	}
	if a.Requester != "" && a.Requester != actor {
		detail["requester"] = a.Requester
	}
	return b.store.Audit(ctx, store.Event{
		At: b.now(), Type: typ, Outcome: outcome, SessionID: a.SessionID, Identity: actor,
		SourceAddr: a.SourceAddr, Target: a.Target, Login: a.Login, Reason: reason, Detail: detail,
	})
}

func (b *Broker) subscribe(id string) chan struct{} {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	b.waiters[id] = append(b.waiters[id], ch)
	b.mu.Unlock()
	return ch
}

func (b *Broker) unsubscribe(id string, ch chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waiters[id] = slices.DeleteFunc(b.waiters[id], func(c chan struct{}) bool { return c == ch })
	if len(b.waiters[id]) == 0 {
		delete(b.waiters, id)
	}
}

func (b *Broker) notify(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ch := range b.waiters[id] {
		wake(ch)
	}
}

// Changed tells the broker that request id changed in the store, perhaps
// through another bastion sharing it (store.Changes): its Wait calls
// re-read it now rather than at their next poll. An empty id wakes every
// Wait.
func (b *Broker) Changed(id string) {
	if id != "" {
		b.notify(id)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, chs := range b.waiters {
		for _, ch := range chs {
			wake(ch)
		}
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default: // already signalled
	}
}

var idEncoding = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// newID returns a request id such as "req-k3m9x2ab": short enough to type,
// random enough not to guess.
func newID() (string, error) {
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("approvals: %w", err)
	}
	return "req-" + idEncoding.EncodeToString(b[:]), nil
}
