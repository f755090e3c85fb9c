package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/server"
	"github.com/bastion-ssh/bastion/store"
)

// anchorLog hands the session log's signed tree heads to the witnesses the
// config names, after checking that the log extends the newest head the
// file witness holds: a data directory or database restored from an older
// copy (newer sessions and their audit rows deleted) does not start.
func anchorLog(ctx context.Context, cfg *config.Config, st *store.Store, l sessionLog, pub ed25519.PublicKey) error {
	var ws recorder.Witnesses
	if f := cfg.Evidence.WitnessFile; f != "" {
		head, err := recorder.FileWitness(f).Head()
		if err != nil {
			return err
		}
		if head != nil {
			if err := checkExtends(ctx, st, cfg.DataDir, pub, head); err != nil {
				return fmt.Errorf("session log against the witness %s: %w", f, err)
			}
		}
		ws = append(ws, recorder.FileWitness(f))
	}
	if u := cfg.Evidence.WitnessURL; u != "" {
		ws = append(ws, recorder.HTTPWitness{URL: u})
	}
	if cfg.Evidence.WitnessSyslog {
		w, err := recorder.NewSyslogWitness()
		if err != nil {
			return err
		}
		ws = append(ws, w)
	}
	if len(ws) == 0 {
		return nil
	}
	return l.SetWitness(ws)
}

// auditCheckpointer enters the head of the audit chain in the session log,
// so that the log (signed, witnessed) vouches for the audit trail up to
// there: a trail truncated or rebuilt before the newest checkpoint no
// longer matches it.
type auditCheckpointer struct {
	store  *store.Store
	log    server.SessionLog
	logger *slog.Logger

	mu   sync.Mutex
	last int64 // sequence number of the newest checkpoint; guarded by mu
}

// checkpoint enters the chain head unless it was entered already.
func (c *auditCheckpointer) checkpoint(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	head, err := c.store.ChainHead(ctx)
	if err != nil {
		return err
	}
	if head.Seq == c.last {
		return nil
	}
	if _, err := c.log.Append(recorder.AuditCheckpointRecord(head.Seq, head.Hash, head.Start, time.Now())); err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	c.last = head.Seq
	return nil
}

// run checkpoints every interval until ctx ends.
func (c *auditCheckpointer) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.checkpoint(ctx); err != nil {
				c.logger.Error("audit checkpoint failed", "err", err)
			}
		}
	}
}
