package slackreview

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Slack's documented example ("Verifying requests from Slack"): its secret,
// timestamp, slash-command body and the signature Slack computed.
const (
	docSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	docTimestamp = "1531420618"
	docBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	docSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func docHeader(sig, ts string) http.Header {
	h := http.Header{}
	if sig != "" {
		h.Set("X-Slack-Signature", sig)
	}
	if ts != "" {
		h.Set("X-Slack-Request-Timestamp", ts)
	}
	return h
}

func TestVerifyDocumentedExample(t *testing.T) {
	if got := Sign([]byte(docSecret), docTimestamp, []byte(docBody)); got != docSignature {
		t.Fatalf("Sign = %s, want Slack's %s", got, docSignature)
	}
	at := time.Unix(1531420618, 0).Add(30 * time.Second)
	cases := []struct {
		name string
		h    http.Header
		body string
		now  time.Time
		want error
	}{
		{"documented-example", docHeader(docSignature, docTimestamp), docBody, at, nil},
		{"body-changed", docHeader(docSignature, docTimestamp), strings.Replace(docBody, "roadrunner", "coyote", 1), at, ErrBadSignature},
		{"timestamp-changed", docHeader(docSignature, "1531420619"), docBody, at, ErrBadSignature},
		{"wrong-version", docHeader("v1="+docSignature[3:], docTimestamp), docBody, at, ErrBadSignature},
		{"truncated", docHeader(docSignature[:20], docTimestamp), docBody, at, ErrBadSignature},
		{"stale", docHeader(docSignature, docTimestamp), docBody, at.Add(5 * time.Minute), ErrStale},
		{"from-the-future", docHeader(docSignature, docTimestamp), docBody, at.Add(-6 * time.Minute), ErrStale},
		{"bad-timestamp", docHeader(docSignature, "soon"), docBody, at, ErrStale},
		{"no-signature", docHeader("", docTimestamp), docBody, at, ErrNoSignature},
		{"no-timestamp", docHeader(docSignature, ""), docBody, at, ErrNoSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Verify([]byte(docSecret), c.h, []byte(c.body), c.now); !errors.Is(err, c.want) {
				t.Errorf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

func TestReplays(t *testing.T) {
	var r replays
	now := time.Now()
	if !r.first("a", now) || r.first("a", now.Add(time.Minute)) || !r.first("b", now) {
		t.Error("replay memory")
	}
}

func FuzzParsePress(f *testing.F) {
	f.Add([]byte(`payload={"type":"block_actions","user":{"id":"U1"},"actions":[{"action_id":"bastion_approve","value":"req-abc"}]}`))
	f.Add([]byte(`payload=%7B%22type%22%3A%22block_actions%22%7D`))
	f.Add([]byte(`payload=`))
	f.Add([]byte(docBody))
	f.Add([]byte(`payload={"type":"block_actions","user":{"id":"U1"},"actions":[null]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parsePress(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if p.UserID == "" || !validRequestID(p.RequestID) {
			t.Fatalf("accepted %+v", p)
		}
	})
}
