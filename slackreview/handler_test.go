package slackreview_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/approvals"
	"github.com/bastion-ssh/bastion/policies"
	"github.com/bastion-ssh/bastion/slackreview"
	"github.com/bastion-ssh/bastion/slackreview/slacktest"
	"github.com/bastion-ssh/bastion/store"
)

var secret = []byte("test-signing-secret")

type rig struct {
	st      *store.Store
	broker  *approvals.Broker
	slack   *slacktest.Server
	poster  *slackreview.Poster
	handler *slackreview.Handler
	srv     *httptest.Server
}

func newRig(t *testing.T) *rig {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sl := slacktest.NewServer()
	t.Cleanup(sl.Close)
	p := &slackreview.Poster{WebhookURL: sl.WebhookURL(), Audit: st, Backoff: []time.Duration{time.Millisecond, time.Millisecond},
		ResponseURLPrefixes: []string{sl.ResponseURLPrefix()}}
	t.Cleanup(p.Close)
	b := approvals.New(st, []byte("k"))
	b.OnRequest, b.OnClose = p.Post, p.Closed
	h := &slackreview.Handler{Secret: secret, Decider: b, Audit: st, Poster: p, Users: map[string]slackreview.User{
		"UCAROL": {Identity: "carol@example.com", Groups: []string{"security"}},
		"UDAVE":  {Identity: "dave@example.com", Groups: []string{"security"}},
		"UERIN":  {Identity: "erin@example.com", Groups: []string{"dev"}},
		"UALICE": {Identity: "alice@example.com", Groups: []string{"security"}},
	}}
	mux := http.NewServeMux()
	mux.Handle(slackreview.Path, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &rig{st: st, broker: b, slack: sl, poster: p, handler: h, srv: srv}
}

func (r *rig) open(t *testing.T, needed int) store.Approval {
	t.Helper()
	a, err := r.broker.Open(context.Background(), approvals.Request{Requester: "alice@example.com", Target: "db-1", Login: "postgres",
		Command: "systemctl restart postgresql", Exact: "systemctl restart postgresql", Justification: "deploy 42", Rule: "restarts",
		Review: policies.Review{Reviewers: []string{"security"}, Approvals: needed, Timeout: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (r *rig) send(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (r *rig) press(user, action, id string) *http.Request {
	body := slacktest.Press{UserID: user, ActionID: action, RequestID: id, ResponseURL: r.slack.ResponseURL(id)}.Payload()
	return slacktest.Request(r.srv.URL+slackreview.Path, secret, time.Now(), body)
}

func (r *rig) state(t *testing.T, id string) store.Approval {
	t.Helper()
	a, err := r.broker.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (r *rig) refusals(t *testing.T) []store.Event {
	t.Helper()
	var out []store.Event
	for _, typ := range []string{"slack.interaction", "approval.refuse"} {
		ev, err := r.st.Events(context.Background(), store.EventFilter{Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev...)
	}
	return out
}

// waitFor polls until cond holds, with a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestApproveFromSlack(t *testing.T) {
	r := newRig(t)
	a := r.open(t, 1)
	// The request is posted as Block Kit with both buttons carrying its id.
	waitFor(t, "the request message", func() bool { return len(r.slack.Messages()) == 1 })
	msg := string(r.slack.Messages()[0].Raw)
	for _, want := range []string{`"type":"header"`, `"type":"actions"`, `"action_id":"bastion_approve"`, `"action_id":"bastion_deny"`,
		`"value":"` + a.ID + `"`, "systemctl restart postgresql", "alice@example.com", "postgres@db-1", "deploy 42", "restarts"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %s: %s", want, msg)
		}
	}
	if code := r.send(t, r.press("UCAROL", slackreview.ActionApprove, a.ID)); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	got := r.state(t, a.ID)
	if got.State != approvals.StateApproved || got.Decisions[0].Reviewer != "carol@example.com" || got.Decisions[0].Channel != "slack" {
		t.Fatalf("request %+v", got)
	}
	// The message is replaced through response_url, naming who decided.
	waitFor(t, "the update", func() bool { return len(r.slack.Messages()) == 2 })
	up := r.slack.Messages()[1]
	if up.Path != "/actions/"+a.ID || up.Body["replace_original"] != true || !strings.Contains(string(up.Raw), "approved by carol@example.com") ||
		strings.Contains(string(up.Raw), "bastion_approve") {
		t.Errorf("update %s: %s", up.Path, up.Raw)
	}
}

func TestTwoOfNFromSlack(t *testing.T) {
	r := newRig(t)
	a := r.open(t, 2)
	if code := r.send(t, r.press("UCAROL", slackreview.ActionApprove, a.ID)); code != http.StatusOK {
		t.Fatal(code)
	}
	if r.state(t, a.ID).State != approvals.StatePending {
		t.Fatal("one approval of two closed the request")
	}
	if code := r.send(t, r.press("UCAROL", slackreview.ActionApprove, a.ID)); code != http.StatusConflict {
		t.Fatalf("same reviewer twice: %d", code)
	}
	if code := r.send(t, r.press("UDAVE", slackreview.ActionApprove, a.ID)); code != http.StatusOK {
		t.Fatal(code)
	}
	if r.state(t, a.ID).State != approvals.StateApproved {
		t.Fatal("two approvals did not approve")
	}
}

func TestSlackRefusals(t *testing.T) {
	stale := time.Now().Add(-6 * time.Minute)
	cases := []struct {
		name   string
		build  func(r *rig, id string) *http.Request
		status int
		reason string
	}{
		{"bad-signature", func(r *rig, id string) *http.Request {
			req := r.press("UCAROL", slackreview.ActionApprove, id)
			req.Header.Set("X-Slack-Signature", slackreview.Sign([]byte("wrong"), req.Header.Get("X-Slack-Request-Timestamp"), []byte("x")))
			return req
		}, http.StatusUnauthorized, "bad_signature"},
		{"unsigned", func(r *rig, id string) *http.Request {
			req := r.press("UCAROL", slackreview.ActionApprove, id)
			req.Header.Del("X-Slack-Signature")
			return req
		}, http.StatusUnauthorized, "unsigned"},
		{"stale-timestamp", func(r *rig, id string) *http.Request {
			body := slacktest.Press{UserID: "UCAROL", ActionID: slackreview.ActionApprove, RequestID: id}.Payload()
			return slacktest.Request(r.srv.URL+slackreview.Path, secret, stale, body)
		}, http.StatusUnauthorized, "stale_timestamp"},
		{"unknown-user", func(r *rig, id string) *http.Request { return r.press("UMALLORY", slackreview.ActionApprove, id) },
			http.StatusForbidden, "unknown_user"},
		{"not-a-reviewer", func(r *rig, id string) *http.Request { return r.press("UERIN", slackreview.ActionApprove, id) },
			http.StatusForbidden, "not_reviewer"},
		{"self-approval", func(r *rig, id string) *http.Request { return r.press("UALICE", slackreview.ActionApprove, id) },
			http.StatusForbidden, "self_decision"},
		{"unknown-request", func(r *rig, id string) *http.Request {
			return r.press("UCAROL", slackreview.ActionApprove, "req-nosuch")
		},
			http.StatusNotFound, "not_found"},
		{"malformed-payload", func(r *rig, id string) *http.Request {
			return slacktest.Request(r.srv.URL+slackreview.Path, secret, time.Now(), []byte("payload=%7Bnot-json"))
		}, http.StatusBadRequest, "malformed_payload"},
		{"unknown-action", func(r *rig, id string) *http.Request {
			body := slacktest.Press{UserID: "UCAROL", ActionID: "bastion_delete_everything", RequestID: id}.Payload()
			return slacktest.Request(r.srv.URL+slackreview.Path, secret, time.Now(), body)
		}, http.StatusBadRequest, "malformed_payload"},
		{"get", func(r *rig, id string) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, r.srv.URL+slackreview.Path, nil)
			return req
		}, http.StatusMethodNotAllowed, "method"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			a := r.open(t, 1)
			if code := r.send(t, c.build(r, a.ID)); code != c.status {
				t.Fatalf("status %d, want %d", code, c.status)
			}
			ev := r.refusals(t)
			if len(ev) != 1 || ev[0].Reason != c.reason || ev[0].Outcome != store.OutcomeDenied {
				t.Fatalf("audit %+v, want one refusal %s", ev, c.reason)
			}
			if got := r.state(t, a.ID); got.State != approvals.StatePending || len(got.Decisions) != 0 {
				t.Errorf("refused request changed it: %+v", got)
			}
		})
	}
}

func TestSlackReplayAndSecondDecision(t *testing.T) {
	r := newRig(t)
	a := r.open(t, 1)
	first := r.press("UCAROL", slackreview.ActionDeny, a.ID)
	again, _ := http.NewRequest(http.MethodPost, first.URL.String(), strings.NewReader(string(slacktest.Press{UserID: "UCAROL",
		ActionID: slackreview.ActionDeny, RequestID: a.ID, ResponseURL: r.slack.ResponseURL(a.ID)}.Payload())))
	again.Header = first.Header.Clone()
	if code := r.send(t, first); code != http.StatusOK {
		t.Fatal(code)
	}
	if code := r.send(t, again); code != http.StatusConflict {
		t.Errorf("replay: %d", code)
	}
	// A second decision on the closed request, freshly signed, is refused.
	if code := r.send(t, r.press("UDAVE", slackreview.ActionApprove, a.ID)); code != http.StatusConflict {
		t.Errorf("second decision: %d", code)
	}
	got := r.state(t, a.ID)
	if got.State != approvals.StateDenied || len(got.Decisions) != 1 {
		t.Errorf("request %+v", got)
	}
	reasons := map[string]bool{}
	for _, e := range r.refusals(t) {
		reasons[e.Reason] = true
	}
	if !reasons["replay"] || !reasons["closed"] {
		t.Errorf("refusals audited: %v", reasons)
	}
}

func TestPostRetriesThenGivesUp(t *testing.T) {
	r := newRig(t)
	r.slack.FailNext(1)
	a := r.open(t, 1)
	waitFor(t, "the retried post", func() bool { return len(r.slack.Messages()) == 1 })
	r.poster.Close()
	ev, _ := r.st.Events(context.Background(), store.EventFilter{Type: "slack.post"})
	if len(ev) != 2 || ev[0].Reason != "attempt_failed" || ev[1].Reason != "sent" {
		t.Fatalf("post audit %+v", ev)
	}
	if strings.Contains(ev[0].Detail["error"].(string), "standin") {
		t.Error("the webhook URL (a credential) reached the audit log")
	}
	// Slack down for good: the request stays decidable (here from the CLI's
	// channel), and the give-up is audited.
	r.slack.FailNext(100)
	b := r.open(t, 1)
	if _, err := r.broker.Decide(context.Background(), b.ID, approvals.Reviewer{Identity: "carol@example.com", Groups: []string{"security"}, Channel: "cli"}, true, "ok"); err != nil {
		t.Fatal(err)
	}
	r.poster.Close()
	ev, _ = r.st.Events(context.Background(), store.EventFilter{Type: "slack.post"})
	gaveUp := 0
	for _, e := range ev {
		if e.Reason == "gave_up" {
			gaveUp++
		}
	}
	if gaveUp != 2 || r.state(t, a.ID).State != approvals.StatePending {
		t.Errorf("gave up %d times; events %+v", gaveUp, ev)
	}
}

// A signed press captured and sent to another bastion sharing the store
// is refused there as a replay, and decides nothing twice.
func TestSlackReplayToAnotherNode(t *testing.T) {
	a := newRig(t)
	a.handler.Replays = a.st
	stB, err := store.Open(filepath.Join(a.st.DataDir(), "s.db")) // node B, on the same database
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stB.Close() })
	nodeB := &slackreview.Handler{Secret: secret, Decider: approvals.New(stB, []byte("k")), Audit: stB, Replays: stB,
		Users: a.handler.Users}
	srvB := httptest.NewServer(nodeB)
	t.Cleanup(srvB.Close)

	req := a.open(t, 2)
	first := a.press("UCAROL", slackreview.ActionApprove, req.ID)
	body := slacktest.Press{UserID: "UCAROL", ActionID: slackreview.ActionApprove, RequestID: req.ID,
		ResponseURL: a.slack.ResponseURL(req.ID)}.Payload()
	toB, _ := http.NewRequest(http.MethodPost, srvB.URL+slackreview.Path, strings.NewReader(string(body)))
	toB.Header = first.Header.Clone()
	if code := a.send(t, first); code != http.StatusOK {
		t.Fatal(code)
	}
	if code := a.send(t, toB); code != http.StatusConflict {
		t.Errorf("the replay on node B: %d", code)
	}
	if got := a.state(t, req.ID); len(got.Decisions) != 1 || got.State != approvals.StatePending {
		t.Errorf("request %+v", got)
	}
	// Refused as a replay, before the broker is asked (which would refuse
	// carol's second approval with a reason of its own).
	var replays int
	for _, e := range a.refusals(t) {
		if e.Reason == "replay" {
			replays++
		}
	}
	if replays != 1 {
		t.Errorf("%d replay refusals audited, want 1: %+v", replays, a.refusals(t))
	}
}
