// Package slacktest is a stand-in for Slack, not Slack: a local HTTP
// server that accepts what bastion sends to Slack (incoming-webhook posts,
// response_url updates: JSON messages answered with 200 "ok", as Slack
// documents), and builds the button presses Slack would send to bastion's
// interactivity endpoint (a form field "payload" holding block_actions
// JSON, signed with v0 headers). Tests use it in place of Slack's
// servers; bastion dev uses it to print the messages it would post.
package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bastion-ssh/bastion/slackreview"
)

// Message is one message received, as JSON.
type Message struct {
	Path string
	Body map[string]any
	Raw  []byte
}

// Server records what is posted to it.
type Server struct {
	*httptest.Server

	// Print, if set, receives a readable line per message (bastion dev).
	Print io.Writer

	mu       sync.Mutex // guards the fields below
	messages []Message
	failNext int
}

// NewServer starts a stand-in on loopback. Close it when done.
func NewServer() *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// WebhookURL is the incoming-webhook URL to configure.
func (s *Server) WebhookURL() string { return s.URL + "/services/T000/B000/standin" }

// ResponseURL is a response_url for a press, under ResponseURLPrefix.
func (s *Server) ResponseURL(id string) string { return s.URL + "/actions/" + id }

// ResponseURLPrefix is what the poster must allow for updates to reach
// the stand-in.
func (s *Server) ResponseURLPrefix() string { return s.URL + "/actions/" }

// FailNext makes the next n posts answer 500, as Slack does when down.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	s.failNext = n
	s.mu.Unlock()
}

// Messages returns what was received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	if s.failNext > 0 {
		s.failNext--
		s.mu.Unlock()
		http.Error(w, "internal_error", http.StatusInternalServerError)
		return
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil || r.Header.Get("Content-Type") != "application/json" {
		s.mu.Unlock()
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.messages = append(s.messages, Message{Path: r.URL.Path, Body: body, Raw: raw})
	print := s.Print
	s.mu.Unlock()
	if print != nil {
		text, _ := body["text"].(string)
		fmt.Fprintf(print, "slack (stand-in) %s: %s\n", r.URL.Path, text)
	}
	io.WriteString(w, "ok")
}

// Press is a button press to send to the interactivity endpoint.
type Press struct {
	UserID      string
	ActionID    string // slackreview.ActionApprove or ActionDeny
	RequestID   string
	ResponseURL string
}

// Payload is the form body Slack sends for p (block_actions).
func (p Press) Payload() []byte {
	cb := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": p.UserID, "username": strings.ToLower(p.UserID), "team_id": "T000"},
		"api_app_id":   "A000",
		"token":        "legacy-verification-token-unused",
		"container":    map[string]any{"type": "message", "message_ts": "1.000", "channel_id": "C000", "is_ephemeral": false},
		"trigger_id":   "1.2.abc",
		"team":         map[string]any{"id": "T000", "domain": "standin"},
		"channel":      map[string]any{"id": "C000", "name": "approvals"},
		"response_url": p.ResponseURL,
		"actions": []any{map[string]any{
			"action_id": p.ActionID, "block_id": "decide", "type": "button", "value": p.RequestID,
			"text": map[string]any{"type": "plain_text", "text": "Approve"}, "action_ts": "1.5",
		}},
	}
	js, _ := json.Marshal(cb)
	return []byte(url.Values{"payload": {string(js)}}.Encode())
}

// Request builds the signed HTTP request Slack would send to endpoint.
func Request(endpoint string, secret []byte, at time.Time, body []byte) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(string(body)))
	ts := strconv.FormatInt(at.Unix(), 10)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Slack-Request-Timestamp", ts)
	r.Header.Set("X-Slack-Signature", slackreview.Sign(secret, ts, body))
	return r
}
