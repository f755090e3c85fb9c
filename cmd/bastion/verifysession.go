package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bastion-ssh/bastion/liveness"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/shipping"
	"github.com/bastion-ssh/bastion/store"
)

// signedTimeSkew is how far a row's start and end times may lie from the
// signed ones: the server takes them a moment apart (the row's start just
// after the recording is created, its end just before the manifest is
// signed), never seconds apart.
const signedTimeSkew = 10 * time.Second

// checkSession verifies one session from every side that knows of it: its
// row, its record in the signed log, its files. Each disagreement is a
// problem; a session whose files retention deleted (as the audit trail
// says) is reported as such; one that never closed is verified to its last
// checkpoint and reported incomplete.
//
// shipped is the session's recording.shipped audit event, if any: the
// shipper removes a local copy only after writing one, so a recording
// read from the bucket without it was removed by something else. marked is
// its session.incomplete event, if any: a row ended as incomplete without
// one was edited.
func checkSession(ctx context.Context, in verifyInput, id string, row store.Session, hasRow bool, entry recorder.LogEntry, inLog bool,
	diskPath string, retained, shipped, marked *store.Event) (c sessionCheck) {
	c.ID = id
	bad := func(format string, args ...any) { c.Problems = append(c.Problems, fmt.Sprintf(format, args...)) }
	defer func() {
		if len(c.Problems) > 0 {
			c.Verdict = verdictBad
			c.Detail = strings.Join(c.Problems, "; ")
		}
	}()
	path := diskPath
	switch {
	case !hasRow && inLog:
		bad("in the signed session log but not in the database (row deleted)")
	case !hasRow:
		bad("recording %s has no database row", diskPath)
	case row.Recording == "":
		bad("the database row names no recording (blanked?)")
	case strings.ContainsAny(id, `/\`) || id == "." || id == "..":
		bad("session id %q cannot name a recording file (not read)", id)
		path = ""
	case !inside(in.recordingsDir, row.Recording) || filepath.Base(row.Recording) != id+".cast":
		// Only the session's own file is read: a database writer could
		// point the row at any file (another session's, a key).
		path = diskPath
		bad("the database row names recording %s, not %s.cast in %s (not read)", row.Recording, id, in.recordingsDir)
	default:
		path = row.Recording
	}
	if hasRow && row.DeletedAt != nil {
		return checkDeleted(c, row, path, entry, inLog, retained)
	}
	if path == "" {
		return c
	}
	if retained != nil {
		bad("the audit trail says retention deleted it, but the database row says otherwise")
	}
	local, fromBucket, err := in.source.open(ctx, path)
	if err != nil {
		bad("recording %v", err)
		return c
	}
	c.Unshipped = in.source.ships() && !fromBucket
	// Another node's recording is read from the bucket here whether or
	// not that node has finished shipping it (or lives to).
	elsewhere := hasRow && row.Node != "" && in.node != "" && row.Node != in.node
	if fromBucket && shipped == nil && !elsewhere {
		bad("its local copy is gone and the bucket holds it, but no %s audit event says it was shipped", shipping.EventShipped)
	}
	if _, err := os.Lstat(local); errors.Is(err, fs.ErrNotExist) && shipped != nil {
		bad("recording %s was shipped to bucket %v (audit event %d): pass --config FILE to verify it there",
			path, shipped.Detail["bucket"], shipped.Seq)
		return c
	}
	defer func() {
		if fromBucket && elsewhere {
			c.Detail += " (read from the bucket; run on node " + row.Node + ")"
		} else if fromBucket {
			c.Detail += " (read from the bucket)"
		} else if c.Unshipped {
			c.Detail += " (not yet shipped)"
		}
	}()
	path = local
	res, err := recorder.Verify(path, in.pub)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		bad("recording %s is missing", path)
		return c
	case errors.Is(err, recorder.ErrIncomplete), errors.Is(err, recorder.ErrNoManifest):
		c.Verdict = verdictIncomplete
		c.Detail = fmt.Sprintf("no manifest (crashed or still running): verified up to event %d of %d", res.Verified, res.Events)
		if res.Checkpoints == 0 {
			c.Detail = "no manifest and no checkpoint yet (crashed or still running): nothing to verify"
		}
		if inLog {
			bad("the signed log records it closed with %d events, but its manifest is gone", entry.Events)
		}
		switch {
		case hasRow && row.Status == store.StatusIncomplete && marked != nil:
			// Its node died; another node (or its next start) ended the row.
			c.Detail += fmt.Sprintf("; ended as incomplete by node %s (%s)", row.EndedBy, marked.Reason)
		case hasRow && row.Status == store.StatusIncomplete:
			bad("the database row says node %s ended it as incomplete, but no %s audit event says so", row.EndedBy, liveness.EventIncomplete)
		case hasRow && row.EndedAt != nil:
			bad("the database row says it ended at %s, but the recording was never closed", row.EndedAt.UTC().Format(time.RFC3339))
		}
	case err != nil:
		bad("%v", err)
		return c
	default:
		c.Verdict, c.Detail = verdictVerified, res.String()
		switch {
		case !inLog:
			bad("closed with a signed manifest, but not in the signed session log")
		case entry.Chain != res.Chain || entry.Events != res.Events:
			bad("chain %s (%d events) differs from the logged %s (%d events)", res.Chain, res.Events, entry.Chain, entry.Events)
		case manifestDigest(path) != entry.ManifestSHA256:
			bad("its manifest differs from the one the session log holds")
		}
	}
	if hasRow {
		for _, p := range fieldMismatches(row, res) {
			bad("%s", p)
		}
	}
	return c
}

// checkDeleted judges a row retention marked deleted: the deletion must be
// in the audit trail, and the log must still vouch for what existed.
func checkDeleted(c sessionCheck, row store.Session, path string, entry recorder.LogEntry, inLog bool, retained *store.Event) sessionCheck {
	c.Verdict = verdictDeleted
	c.Detail = fmt.Sprintf("recording deleted by retention at %s (%s)", row.DeletedAt.UTC().Format(time.RFC3339), row.DeletedReason)
	if retained == nil {
		c.Problems = append(c.Problems, "the database row says retention deleted it, but no retention.delete event in the audit trail says so")
	}
	if path != "" {
		if _, err := os.Stat(path); err == nil {
			c.Detail += "; files still present"
		}
	}
	switch {
	case !inLog && row.EndedAt != nil:
		c.Detail += "; never entered in the session log"
	case inLog && path != "":
		// The signed manifest is kept: it must still be the logged one.
		if d := manifestDigest(path); d == "" {
			c.Detail += "; its manifest is gone too"
		} else if d != entry.ManifestSHA256 {
			c.Problems = append(c.Problems, "its kept manifest differs from the one the session log holds")
		}
	}
	return c
}

// fieldMismatches compares a row with what the recording signed: the
// header (hash-chained) and the manifest.
func fieldMismatches(row store.Session, res recorder.VerifyResult) []string {
	var out []string
	if h := res.Header; h != nil {
		m := h.Session
		for _, f := range []struct{ name, row, signed string }{
			{"identity", row.Identity, m.Identity}, {"target", row.Target, m.Target}, {"login", row.Login, m.Login},
			{"source address", row.SourceAddr, m.Source}, {"kind", row.Kind, string(m.Kind)}, {"command", row.Command, h.Command},
		} {
			if f.row != f.signed {
				out = append(out, fmt.Sprintf("the database row says %s %q, the signed recording %q", f.name, f.row, f.signed))
			}
		}
		if d := row.StartedAt.Sub(h.Timestamp); d < -signedTimeSkew || d > signedTimeSkew+time.Second {
			out = append(out, fmt.Sprintf("the database row says it started at %s, the signed recording at %s",
				row.StartedAt.UTC().Format(time.RFC3339), h.Timestamp.UTC().Format(time.RFC3339)))
		}
	}
	m := res.Manifest
	if m == nil {
		return out
	}
	if row.EndedAt == nil {
		out = append(out, fmt.Sprintf("the database row says it never ended, the signed manifest that it ended at %s", m.End.UTC().Format(time.RFC3339)))
	} else if d := m.End.Sub(*row.EndedAt); d < -signedTimeSkew || d > signedTimeSkew {
		out = append(out, fmt.Sprintf("the database row says it ended at %s, the signed manifest at %s",
			row.EndedAt.UTC().Format(time.RFC3339), m.End.UTC().Format(time.RFC3339)))
	}
	rowExit := -1 // what the server signs when the session had no exit status
	if row.ExitStatus != nil {
		rowExit = *row.ExitStatus
	}
	if rowExit != m.Exit.Status || row.ExitSignal != m.Exit.Signal {
		out = append(out, fmt.Sprintf("the database row says exit %d%s, the signed manifest exit %d%s",
			rowExit, signalText(row.ExitSignal), m.Exit.Status, signalText(m.Exit.Signal)))
	}
	return out
}

func signalText(sig string) string {
	if sig == "" {
		return ""
	}
	return " signal " + sig
}

// manifestDigest is the SHA-256 of the manifest file of the recording at
// castPath, as the session log records it.
func manifestDigest(castPath string) string {
	b, err := os.ReadFile(recorder.ManifestPath(castPath))
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// inside reports whether path lies inside dir.
func inside(dir, path string) bool {
	absDir, err1 := filepath.Abs(dir)
	absPath, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(absDir, absPath)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// retentionDeletions returns the retention.delete audit events by session.
func retentionDeletions(ctx context.Context, st *store.Store) (map[string]*store.Event, error) {
	return eventsBySession(ctx, st, retentionDeleteEvent)
}

// eventsBySession returns the audit events of type typ by session, the
// last of each session's.
func eventsBySession(ctx context.Context, st *store.Store, typ string) (map[string]*store.Event, error) {
	evs, err := st.Events(ctx, store.EventFilter{Type: typ, Limit: 1 << 40})
	if err != nil {
		return nil, err
	}
	out := map[string]*store.Event{}
	for i := range evs {
		out[evs[i].SessionID] = &evs[i]
	}
	return out, nil
}
