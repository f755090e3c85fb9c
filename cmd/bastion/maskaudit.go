package main

import (
	"context"
	"crypto/rand"
	"log/slog"

	"github.com/bastion-ssh/bastion/masking"
	"github.com/bastion-ssh/bastion/server"
	"github.com/bastion-ssh/bastion/store"
)

// Free text reaches the audit trail and the log from the client: the login
// and target it asks for (ssh -l 123-45-6789@demo), the command line, paths,
// the reasons built from them. maskedStore and maskingHandler pass every
// such field through a masker (the default recognizers) on its way out, so
// PHI typed there is kept as it would be in a recording. The identity (from
// the signed certificate) and the source address are not free text and are
// kept as they are: without them the trail would not say who did what.

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

func (s *maskedStore) mask(v string) string {
	if v == "" {
		return v
	}
	out, _ := s.m.MaskString(v)
	return out
}

func (s *maskedStore) Audit(ctx context.Context, e store.Event) error {
	e.Login = s.mask(e.Login)
	e.Target = s.mask(e.Target)
	e.Reason = s.mask(e.Reason)
	if len(e.Detail) > 0 {
		e.Detail = s.maskValue(e.Detail).(map[string]any)
	}
	return s.next.Audit(ctx, e)
}

// maskValue masks the strings in a detail value (maps and slices too),
// copying what it changes.
func (s *maskedStore) maskValue(v any) any {
	switch x := v.(type) {
	case string:
		return s.mask(x)
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = s.mask(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.maskValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[s.mask(k)] = s.maskValue(e)
		}
		return out
	}
	return v
}

func (s *maskedStore) CreateSession(ctx context.Context, sess store.Session) error {
	sess.Login = s.mask(sess.Login)
	sess.Target = s.mask(sess.Target)
	sess.Command = s.mask(sess.Command)
	return s.next.CreateSession(ctx, sess)
}

func (s *maskedStore) EndSession(ctx context.Context, id string, e store.SessionEnd) error {
	e.Reason = s.mask(e.Reason)
	return s.next.EndSession(ctx, id, e)
}

// maskingHandler is a slog.Handler that masks the message and every string
// attribute (and error text) before the next handler formats them.
type maskingHandler struct {
	next slog.Handler
	m    *masking.Masker
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
	msg, _ := h.m.MaskString(r.Message)
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *maskingHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		s, _ := h.m.MaskString(v.String())
		return slog.String(a.Key, s)
	case slog.KindGroup:
		as := v.Group()
		out := make([]any, len(as))
		for i, x := range as {
			out[i] = h.attr(x)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			s, _ := h.m.MaskString(x.Error())
			return slog.String(a.Key, s)
		case interface{ String() string }:
			s, _ := h.m.MaskString(x.String())
			return slog.String(a.Key, s)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *maskingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = h.attr(a)
	}
	return &maskingHandler{next: h.next.WithAttrs(out), m: h.m}
}

func (h *maskingHandler) WithGroup(name string) slog.Handler {
	return &maskingHandler{next: h.next.WithGroup(name), m: h.m}
}
