package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// retentionDeleteEvent is the audit event of one recording deleted by
// retention.
const retentionDeleteEvent = "retention.delete"

// retentionEvery is how often serve applies retention.
const retentionEvery = 24 * time.Hour

// retentionResult is what one retention run did (or would do).
type retentionResult struct {
	Deleted []string // session ids whose recordings were deleted
	Held    []string // expired sessions kept by a legal hold
	Bytes   int64    // bytes of recordings deleted
}

// applyRetention deletes the recordings of sessions that started before
// now minus keep_days, except those under a legal hold or still running.
// Each deletion is audited before it happens (no audit, no deletion); the
// row, the audit trail, the session log record and the signed manifest
// stay, so what existed is still proven. With dryRun nothing changes.
func applyRetention(ctx context.Context, st *store.Store, r config.Retention, now time.Time, dryRun bool) (retentionResult, error) {
	var res retentionResult
	if r.KeepDays <= 0 {
		return res, nil // keep forever
	}
	cutoff := now.Add(-time.Duration(r.KeepDays) * 24 * time.Hour)
	var expired []store.Session
	err := st.EachSession(ctx, store.SessionFilter{Until: cutoff}, func(s store.Session) error {
		if s.DeletedAt == nil && s.EndedAt != nil && s.StartedAt.Before(cutoff) {
			expired = append(expired, s)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	for _, s := range expired {
		if h, held := heldBy(r.Holds, s); held {
			res.Held = append(res.Held, s.ID+" ("+h.Reason+")")
			continue
		}
		// The path comes from a row anyone with the database can edit:
		// only a file named after its own session is deleted, so a row
		// cannot point retention at a held recording or any other file.
		if s.Recording != "" && filepath.Base(s.Recording) != s.ID+".cast" {
			return res, fmt.Errorf("retention: not deleting %s: its recording path %q does not name the session", s.ID, s.Recording)
		}
		size := sessionFileBytes(s.Recording)
		if dryRun {
			res.Deleted, res.Bytes = append(res.Deleted, s.ID), res.Bytes+size
			continue
		}
		reason := fmt.Sprintf("retention: started %s, kept %d days", s.StartedAt.UTC().Format(time.DateOnly), r.KeepDays)
		if err := st.Audit(ctx, store.Event{Type: retentionDeleteEvent, Outcome: store.OutcomeInfo, SessionID: s.ID,
			Identity: s.Identity, Target: s.Target, Login: s.Login, Reason: reason,
			Detail: map[string]any{"bytes": size, "keep_days": r.KeepDays, "started_at": s.StartedAt.UTC().Format(time.RFC3339)}}); err != nil {
			return res, fmt.Errorf("retention: not deleting %s, the deletion could not be audited: %w", s.ID, err)
		}
		if err := st.MarkDeleted(ctx, s.ID, now, reason); err != nil {
			return res, err
		}
		// The signed manifest stays: it holds no session content, and with
		// the log record it proves what the recording was.
		for _, p := range []string{s.Recording, recorder.CheckpointsPath(s.Recording)} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return res, fmt.Errorf("retention: %w", err)
			}
		}
		res.Deleted, res.Bytes = append(res.Deleted, s.ID), res.Bytes+size
	}
	return res, nil
}

// heldBy returns the first legal hold that keeps s.
func heldBy(holds []config.Hold, s store.Session) (config.Hold, bool) {
	for _, h := range holds {
		if h.Matches(s.Identity, s.Target, s.ID) {
			return h, true
		}
	}
	return config.Hold{}, false
}

func sessionFileBytes(cast string) int64 {
	var n int64
	for _, p := range []string{cast, recorder.CheckpointsPath(cast)} {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}

func cmdRetention(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprintln(stdout, "usage: bastion retention run [--dry-run] --config FILE")
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return nil
		}
		return usagef("retention: want the subcommand run")
	}
	fs := newFlags("retention run", "retention run [--dry-run] --config FILE", stdout)
	dryRun := fs.Bool("dry-run", false, "say what would be deleted; change nothing")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args[1:]); err != nil {
		return helpOK(err)
	}
	if *df.config == "" {
		return usagef("retention run: --config is required (retention and holds are configured there)")
	}
	cfg, err := config.Load(*df.config)
	if err != nil {
		return err
	}
	st, err := df.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := applyRetention(ctx, st, cfg.Retention, time.Now(), *dryRun)
	verb := "deleted"
	if *dryRun {
		verb = "would delete"
	}
	for _, id := range res.Deleted {
		fmt.Fprintf(stdout, "%s %s\n", verb, inert(id))
	}
	for _, h := range res.Held {
		fmt.Fprintf(stdout, "held %s\n", inert(h))
	}
	if cfg.Retention.KeepDays == 0 {
		fmt.Fprintln(stdout, "retention.keep_days is 0: everything is kept")
	}
	fmt.Fprintf(stdout, "%s %d recordings (%s), kept %d under legal hold\n", verb, len(res.Deleted), byteSize(res.Bytes), len(res.Held))
	return err
}

// runRetention applies retention at start and then daily until ctx ends.
func runRetention(ctx context.Context, st *store.Store, r config.Retention, log *slog.Logger) {
	if r.KeepDays <= 0 {
		return
	}
	t := time.NewTicker(retentionEvery)
	defer t.Stop()
	for {
		res, err := applyRetention(ctx, st, r, time.Now(), false)
		if err != nil {
			log.Error("retention failed", "err", err)
		} else if len(res.Deleted) > 0 {
			log.Info("retention deleted recordings", "count", len(res.Deleted), "bytes", res.Bytes, "held", len(res.Held))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
