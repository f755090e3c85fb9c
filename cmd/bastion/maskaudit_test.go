package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/bastion-ssh/bastion/store"
)

// captureStore keeps what it is given.
type captureStore struct {
	events   []store.Event
	sessions []store.Session
	ends     []store.SessionEnd
}

func (c *captureStore) Audit(_ context.Context, e store.Event) error {
	c.events = append(c.events, e)
	return nil
}
func (c *captureStore) CreateSession(_ context.Context, s store.Session) error {
	c.sessions = append(c.sessions, s)
	return nil
}
func (c *captureStore) EndSession(_ context.Context, _ string, e store.SessionEnd) error {
	c.ends = append(c.ends, e)
	return nil
}

const plantedSSN = "123-45-6789"

func TestMaskedStoreMasksFreeText(t *testing.T) {
	c := &captureStore{}
	s := &maskedStore{next: c, m: auditMasker(bytes.Repeat([]byte{7}, 32))}
	ctx := context.Background()
	s.Audit(ctx, store.Event{Type: "auth.reject", Identity: "alice@example.com", Login: plantedSSN, Target: "demo",
		Reason: "no rule lets alice@example.com reach " + plantedSSN + "@demo",
		Detail: map[string]any{"path": "/srv/" + plantedSSN + ".csv", "args": []any{"x", plantedSSN}, "n": 3}})
	s.CreateSession(ctx, store.Session{Login: plantedSSN, Command: "cat " + plantedSSN, Target: "demo"})
	s.EndSession(ctx, "id", store.SessionEnd{Reason: "ended by " + plantedSSN})
	var all strings.Builder
	for _, e := range c.events {
		all.WriteString(e.Login + e.Target + e.Reason)
		for _, v := range e.Detail {
			all.WriteString(strings.TrimSpace(strings.ReplaceAll(strings.Trim(strings.ReplaceAll(fmtAny(v), "\n", ""), "[]"), " ", "")))
		}
		if e.Identity != "alice@example.com" || !strings.Contains(e.Reason, "alice@example.com") {
			t.Errorf("identity changed: %q, reason %q", e.Identity, e.Reason)
		}
		if e.Detail["n"] != 3 {
			t.Errorf("non-text detail changed: %v", e.Detail["n"])
		}
	}
	for _, x := range c.sessions {
		all.WriteString(x.Login + x.Command)
	}
	for _, x := range c.ends {
		all.WriteString(x.Reason)
	}
	if strings.Contains(all.String(), plantedSSN) || !strings.Contains(all.String(), "***-**-****") {
		t.Errorf("stored text: %s", all.String())
	}
}

func fmtAny(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var b strings.Builder
		for _, e := range x {
			b.WriteString(fmtAny(e))
		}
		return b.String()
	}
	return ""
}

func TestMaskingHandlerMasksLogText(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newMaskingHandler(slog.NewTextHandler(&buf, nil)))
	log.With("login", plantedSSN, "identity", "bob@example.com").Info("bob@example.com rejected "+plantedSSN, "user", plantedSSN+"@demo",
		"err", errors.New("no such user "+plantedSSN), slog.Group("req", "cmd", "cat "+plantedSSN), "port", 22)
	out := buf.String()
	if strings.Contains(out, plantedSSN) || !strings.Contains(out, "port=22") || strings.Count(out, "***-**-****") != 5 ||
		strings.Count(out, "bob@example.com") != 2 {
		t.Errorf("log line: %s", out)
	}
}
