package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/store"
)

// reloadAuditTimeout bounds the audit write of one policy reload.
const reloadAuditTimeout = 5 * time.Second

// policyReloadHook is policies.Watcher.OnReload: every reload, accepted
// or rejected, is an audit event and counts in
// bastion_policy_reloads_total{result="ok"|"rejected"}, so that a broken
// edit (the previous policy stays in force) can raise an alert.
func policyReloadHook(file string, audit certauth.Auditor, reg prometheus.Registerer, log *slog.Logger) func(error) {
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bastion_policy_reloads_total",
		Help: "Policy file reloads, by result: ok, or rejected (invalid; the previous policy stays in force).",
	}, []string{"result"})
	reg.MustRegister(reloads)
	reloads.WithLabelValues("ok")
	reloads.WithLabelValues("rejected") // both series exist from the start, for rate() alerts
	return func(err error) {
		ev := store.Event{Type: "policy.reload", Outcome: store.OutcomeAllowed, Reason: file}
		if err != nil {
			reloads.WithLabelValues("rejected").Inc()
			ev.Outcome, ev.Reason = store.OutcomeError, err.Error()
			log.Error("policy reload rejected; previous policy stays in force", "err", err)
		} else {
			reloads.WithLabelValues("ok").Inc()
			log.Info("policy reloaded", "file", file)
		}
		// The reload has already happened (or been refused) in the
		// watcher; a failed record is logged loudly, with its own bound.
		ctx, cancel := context.WithTimeout(context.Background(), reloadAuditTimeout)
		defer cancel()
		if aerr := audit.Audit(ctx, ev); aerr != nil {
			log.Error("audit of a policy reload failed", "err", aerr, "reload_err", err)
		}
	}
}
