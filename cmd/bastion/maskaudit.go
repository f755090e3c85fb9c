package main

import (
	"context"
	"crypto/rand"
	"log/slog"
	"strings"

	"github.com/bastion-ssh/bastion/masking"
	"github.com/bastion-ssh/bastion/server"
	"github.com/bastion-ssh/bastion/store"
)

// Free text reaches the audit trail and the log from the client: the login
// and target it asks for (ssh -l 123-45-6789@demo), the command line, paths,
// the reasons built from them. maskedStore and maskingHandler pass every
// such field through a masker (the default recognizers) on its way out, so
// PHI typed there is kept as it would be in a recording. The identity (from
// the signed certificate or the identity provider) and the source address
// are not free text and are kept as they are, also where a reason or a log
// line quotes the identity: without them the trail would not say who did
// what.

// auditMasker returns the masker for audit events and logs, keyed with the
// fingerprint secret.
func auditMasker(key []byte) *masking.Masker {
	m, err := masking.New(masking.Config{}, key)
	if err != nil {
		panic("masking: the default configuration is invalid: " + err.Error()) // a bug, not input
	}
	return m
}

// maskedStore masks the free-text fields of sessions and audit events
// before the store writes them.
type maskedStore struct {
	next server.Store
	m    *masking.Masker
}

var _ server.Store = (*maskedStore)(nil)

func (s *maskedStore) mask(v, identity string) string { return maskKeeping(s.m, v, identity) }

// maskKeeping masks v except for the occurrences of keep (the identity).
func maskKeeping(m *masking.Masker, v, keep string) string {
	if v == "" {
		return v
	}
	if keep == "" || !strings.Contains(v, keep) {
		out, _ := m.MaskString(v)
		return out
	}
	parts := strings.Split(v, keep)
	for i, p := range parts {
		parts[i], _ = m.MaskString(p)
	}
	return strings.Join(parts, keep)
}

func (s *maskedStore) Audit(ctx context.Context, e store.Event) error {
	return s.next.Audit(ctx, s.maskEvent(e))
}

// maskEvent is e with its free text masked, as Audit writes it.
func (s *maskedStore) maskEvent(e store.Event) store.Event {
	id := e.Identity
	e.Login = s.mask(e.Login, id)
	e.Target = s.mask(e.Target, id)
	e.Reason = s.mask(e.Reason, id)
	if len(e.Detail) > 0 {
		e.Detail = s.maskValue(e.Detail, id).(map[string]any)
	}
	return e
}

// generatedDetail reports whether a detail field holds a value the bastion
// or a certificate authority generated rather than free text: certificate
// serials, key fingerprints, token ids and content digests. They carry no
// PHI, and masking one that happens to look like a value (a 19-digit serial
// that passes Luhn) would destroy the evidence that ties records together.
func generatedDetail(key string) bool {
	switch key {
	case "serial", "fingerprint", "token_id":
		return true
	}
	return strings.HasPrefix(key, "sha256_")
}

// maskValue masks the strings in a detail value (maps and slices too),
// copying what it changes.
func (s *maskedStore) maskValue(v any, id string) any {
	switch x := v.(type) {
	case string:
		return s.mask(x, id)
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = s.mask(e, id)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.maskValue(e, id)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if generatedDetail(k) {
				out[k] = e
				continue
			}
			out[s.mask(k, id)] = s.maskValue(e, id)
		}
		return out
	}
	return v
}

func (s *maskedStore) CreateSession(ctx context.Context, sess store.Session) error {
	sess.Login = s.mask(sess.Login, sess.Identity)
	sess.Target = s.mask(sess.Target, sess.Identity)
	sess.Command = s.mask(sess.Command, sess.Identity)
	return s.next.CreateSession(ctx, sess)
}

func (s *maskedStore) EndSession(ctx context.Context, id string, e store.SessionEnd) error {
	e.Reason = s.mask(e.Reason, "")
	return s.next.EndSession(ctx, id, e)
}

// maskingHandler is a slog.Handler that masks the message and every string
// attribute (and error text) before the next handler formats them.
type maskingHandler struct {
	next     slog.Handler
	m        *masking.Masker
	identity string // from an "identity" attribute: kept where quoted
}

// newMaskingHandler wraps next. Log lines carry no fingerprints, so the
// masker is keyed with a throwaway key.
func newMaskingHandler(next slog.Handler) slog.Handler {
	key := make([]byte, 32)
	rand.Read(key)
	return &maskingHandler{next: next, m: auditMasker(key)}
}

func (h *maskingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *maskingHandler) Handle(ctx context.Context, r slog.Record) error {
	keep := h.identity
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "identity" {
			keep = a.Value.String()
		}
		return true
	})
	msg := maskKeeping(h.m, r.Message, keep)
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a, keep))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *maskingHandler) attr(a slog.Attr, keep string) slog.Attr {
	v := a.Value.Resolve()
	if a.Key == "identity" {
		return slog.Attr{Key: a.Key, Value: v}
	}
	mask := func(s string) string { return maskKeeping(h.m, s, keep) }
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, mask(v.String()))
	case slog.KindGroup:
		as := v.Group()
		out := make([]any, len(as))
		for i, x := range as {
			out[i] = h.attr(x, keep)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, mask(x.Error()))
		case interface{ String() string }:
			return slog.String(a.Key, mask(x.String()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *maskingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	keep := h.identity
	for _, a := range as {
		if a.Key == "identity" {
			keep = a.Value.String()
		}
	}
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = h.attr(a, keep)
	}
	return &maskingHandler{next: h.next.WithAttrs(out), m: h.m, identity: keep}
}

func (h *maskingHandler) WithGroup(name string) slog.Handler {
	return &maskingHandler{next: h.next.WithGroup(name), m: h.m, identity: h.identity}
}
