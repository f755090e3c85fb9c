package main

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bastion-ssh/bastion/server"
	"github.com/bastion-ssh/bastion/store"
)

// meteredStore is the store as the server and the certificate API see
// it: every audit event and session passes through it on its way to the
// database, so each is counted exactly once, where it is written.
type meteredStore struct {
	*store.Store
	events       *prometheus.CounterVec // by type and outcome
	auditFailed  prometheus.Counter
	active       prometheus.Gauge
	started      prometheus.Counter
	ended        *prometheus.CounterVec // by how the session ended
	recordedSize prometheus.Counter
}

func newMeteredStore(st *store.Store, reg prometheus.Registerer) *meteredStore {
	m := &meteredStore{
		Store: st,
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bastion_audit_events_total",
			Help: "Audit events written, by type (e.g. session.start, cert.issue, masking.applied) and outcome.",
		}, []string{"type", "outcome"}),
		auditFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bastion_audit_write_failures_total",
			Help: "Audit events that could not be written; the audited action was refused or ended.",
		}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bastion_sessions_active",
			Help: "Sessions open now.",
		}),
		started: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bastion_sessions_started_total",
			Help: "Sessions opened to a target.",
		}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bastion_sessions_ended_total",
			Help: "Sessions ended, by result: ok (exit 0), error (other exit status), signal, bastion (ended by the bastion, status 236-254), unknown.",
		}, []string{"result"}),
		recordedSize: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bastion_recorded_bytes_total",
			Help: "Bytes of session recordings closed.",
		}),
	}
	reg.MustRegister(m.events, m.auditFailed, m.active, m.started, m.ended, m.recordedSize)
	return m
}

func (m *meteredStore) Audit(ctx context.Context, e store.Event) error {
	err := m.Store.Audit(ctx, e)
	if err != nil {
		m.auditFailed.Inc()
		return err
	}
	m.events.WithLabelValues(e.Type, e.Outcome).Inc()
	return nil
}

// MarkIncomplete counts the mark's event as Audit counts every event.
func (m *meteredStore) MarkIncomplete(ctx context.Context, id string, mark store.IncompleteMark, e store.Event) (bool, error) {
	ok, err := m.Store.MarkIncomplete(ctx, id, mark, e)
	if err != nil {
		m.auditFailed.Inc()
		return false, err
	}
	if ok {
		m.events.WithLabelValues(e.Type, e.Outcome).Inc()
	}
	return ok, nil
}

func (m *meteredStore) CreateSession(ctx context.Context, s store.Session) error {
	if err := m.Store.CreateSession(ctx, s); err != nil {
		return err
	}
	m.started.Inc()
	m.active.Inc()
	return nil
}

func (m *meteredStore) EndSession(ctx context.Context, id string, e store.SessionEnd) error {
	m.active.Dec()
	m.ended.WithLabelValues(sessionResult(e)).Inc()
	m.recordedSize.Add(float64(max(e.RecordingSize, 0)))
	return m.Store.EndSession(ctx, id, e)
}

func sessionResult(e store.SessionEnd) string {
	switch {
	case e.ExitSignal != "":
		return "signal"
	case e.ExitStatus == nil:
		return "unknown"
	case *e.ExitStatus == 0:
		return "ok"
	case server.IsBastionStatus(*e.ExitStatus):
		return "bastion"
	}
	return "error"
}
