package main

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bastion-ssh/bastion/server"
	"github.com/bastion-ssh/bastion/store"
)

func TestMeteredStoreCounts(t *testing.T) {
	st, err := store.Open(dbPath(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := newMeteredStore(st, prometheus.NewRegistry())
	ctx := t.Context()
	for _, ev := range []store.Event{
		{Type: "session.start", Outcome: store.OutcomeAllowed},
		{Type: "session.denied", Outcome: store.OutcomeDenied},
		{Type: "session.denied", Outcome: store.OutcomeDenied},
	} {
		if err := m.Audit(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.ToFloat64(m.events.WithLabelValues("session.denied", store.OutcomeDenied)); got != 2 {
		t.Errorf("session.denied counted %v times, want 2", got)
	}
	codes := map[string]*int{"ok": ptr(0), "error": ptr(3), "bastion": ptr(server.ExitCertificateRevoked)}
	for id := range codes {
		if err := m.CreateSession(ctx, store.Session{ID: id, Identity: "alice@example.com", Target: "db", Login: "postgres", Kind: "exec", StartedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.ToFloat64(m.active); got != 3 {
		t.Errorf("active = %v with three sessions open", got)
	}
	for id, status := range codes {
		if err := m.EndSession(ctx, id, store.SessionEnd{At: time.Now(), ExitStatus: status, RecordingSize: 100}); err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.ToFloat64(m.active); got != 0 {
		t.Errorf("active = %v after every session ended", got)
	}
	for result := range codes {
		if got := testutil.ToFloat64(m.ended.WithLabelValues(result)); got != 1 {
			t.Errorf("ended{result=%q} = %v, want 1", result, got)
		}
	}
	if got := testutil.ToFloat64(m.recordedSize); got != 300 {
		t.Errorf("recorded bytes = %v, want 300", got)
	}
	st.Close() // a store that cannot write: the failure is counted, not the event
	if err := m.Audit(ctx, store.Event{Type: "session.start", Outcome: store.OutcomeAllowed}); err == nil {
		t.Fatal("audit into a closed store succeeded")
	}
	if got := testutil.ToFloat64(m.auditFailed); got != 1 {
		t.Errorf("audit failures = %v, want 1", got)
	}
}

func ptr[T any](v T) *T { return &v }

func TestPolicyReloadMetric(t *testing.T) {
	st, err := store.Open(dbPath(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	hook := policyReloadHook("policy.yaml", st, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	hook(nil)
	hook(errors.New("access[0].name: missing"))
	hook(errors.New("again"))
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP bastion_policy_reloads_total Policy file reloads, by result: ok, or rejected (invalid; the previous policy stays in force).
# TYPE bastion_policy_reloads_total counter
bastion_policy_reloads_total{result="ok"} 1
bastion_policy_reloads_total{result="rejected"} 2
`), "bastion_policy_reloads_total"); err != nil {
		t.Error(err)
	}
	events, err := st.Events(t.Context(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for _, ev := range events {
		if ev.Type == "policy.reload" && ev.Outcome == store.OutcomeError {
			rejected++
		}
	}
	if rejected != 2 {
		t.Errorf("%d rejected reloads audited, want 2", rejected)
	}
}
