package shipping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// Audit event types written by the shipper.
const (
	// EventShipped: every file of a closed recording is verified in the
	// bucket; its local copies are removed next. Written before removal:
	// a file whose shipping cannot be recorded is not removed.
	EventShipped = "recording.shipped"
	// EventShipFailed: one attempt to ship a recording failed; it will be
	// retried. Reason is a stable code, Detail has the error.
	EventShipFailed = "recording.ship_failed"
)

// Reasons of EventShipFailed.
const (
	ReasonUpload   = "upload"   // the bucket refused or could not be reached
	ReasonMismatch = "mismatch" // the object read back differs from what was sent
	ReasonLocal    = "local"    // a local file could not be read or removed
	ReasonAudit    = "audit"    // the shipped event could not be written; nothing removed
)

// part is one local file of a recording, with the size to ship.
type part struct {
	local string
	size  int64
}

// ship does one pass over the recording at rel (its .cast, relative to
// Dir): it uploads and verifies each of its local files and, when final,
// audits and removes them. Files are reached through Dir as an os.Root:
// a directory of the tree replaced by a symlink to elsewhere cannot make
// the shipper upload, or delete, what is there.
func (s *Shipper) ship(ctx context.Context, rel string, final bool) error {
	root, err := os.OpenRoot(s.cfg.Dir)
	if err != nil {
		return &shipError{ReasonLocal, err}
	}
	defer root.Close()
	cast := filepath.FromSlash(rel) // in root
	// The checkpoints file is measured before the recording: both only
	// grow, so every checkpoint shipped covers bytes of the recording
	// shipped with it, and the object verifies up to its last checkpoint.
	files := []string{recorder.CheckpointsPath(cast), cast}
	if final {
		// The manifest last: in the bucket, it marks a complete recording.
		files = append(files, recorder.ManifestPath(cast))
	}
	var parts []part
	for _, f := range files {
		st, err := root.Lstat(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue // not written (checkpoints off, a crash), or shipped and removed before
		}
		if err != nil {
			return &shipError{ReasonLocal, err}
		}
		if !st.Mode().IsRegular() {
			return &shipError{ReasonLocal, fmt.Errorf("%s is not a regular file", f)}
		}
		parts = append(parts, part{f, st.Size()})
	}
	castAt := slices.IndexFunc(parts, func(p part) bool { return p.local == cast })
	if final && castAt < 0 {
		if err := s.goneBeforeShipped(ctx, root, rel); err != nil {
			return err
		}
	}
	if final && castAt >= 0 {
		// A file renamed into this one's place (another recording) is not
		// shipped under this name, nor removed as this recording.
		if m, err := manifestOf(root, cast); err != nil {
			return err
		} else if m != nil && (m.File != filepath.Base(cast) || m.Bytes != parts[castAt].size) {
			return &shipError{ReasonLocal, fmt.Errorf("%s (%d bytes) is not the recording its manifest describes (%s, %d bytes)",
				cast, parts[castAt].size, m.File, m.Bytes)}
		}
	}
	// Uploaded in the other order, the recording first: a node that dies
	// between the two leaves a recording longer than its checkpoints say
	// (it verifies up to the last of them), never checkpoints past the
	// recording's end in the bucket (which read as a truncated recording).
	if len(parts) >= 2 && parts[1].local == cast {
		parts[0], parts[1] = parts[1], parts[0]
	}
	var sent []uploaded
	for _, p := range parts {
		u, err := s.uploadFile(ctx, root, p, s.cfg.Bucket.Key(path.Join(path.Dir(rel), filepath.Base(p.local))))
		var se *shipError
		if errors.As(err, &se) {
			return err
		}
		if err != nil {
			s.metrics.uploads.WithLabelValues("failed").Inc()
			if errors.Is(err, ErrMismatch) {
				return &shipError{ReasonMismatch, err}
			}
			return &shipError{ReasonUpload, err}
		}
		s.metrics.uploads.WithLabelValues("verified").Inc()
		s.metrics.bytes.Add(float64(u.Bytes))
		sent = append(sent, u)
	}
	if !final || len(parts) == 0 {
		return nil
	}
	if err := s.cfg.Audit.Audit(ctx, store.Event{
		Type: EventShipped, Outcome: store.OutcomeInfo, SessionID: sessionID(rel),
		Reason: "verified", Detail: shippedDetail(s.cfg.Bucket.Name(), sent),
	}); err != nil {
		return &shipError{ReasonAudit, err}
	}
	for _, p := range parts {
		if err := root.Remove(p.local); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return &shipError{ReasonLocal, err}
		}
	}
	s.metrics.shipped.Inc()
	s.log.Info("recording shipped", "session", sessionID(rel), "bucket", s.cfg.Bucket.Name(), "files", len(sent))
	return nil
}

// goneBeforeShipped checks a final pass that finds no local recording.
// Only an earlier pass that shipped it whole, audited that and was cut
// short while removing it leaves that state; it removes the checkpoints
// before the recording and the manifest after. So the checkpoints must be
// gone and the bucket must hold the recording, as many bytes of it as the
// manifest (if still here) says. Anything else is a recording removed
// before it was shipped, or only a checkpoint's part of it: that is said
// at every attempt, and never reported shipped.
func (s *Shipper) goneBeforeShipped(ctx context.Context, root *os.Root, rel string) error {
	cast := filepath.FromSlash(rel)
	lost := func(why string) error {
		return &shipError{ReasonLocal, fmt.Errorf("%s is gone locally but was never shipped whole: %s", cast, why)}
	}
	if _, err := root.Lstat(recorder.CheckpointsPath(cast)); err == nil {
		return lost("its checkpoints are still here")
	}
	n, err := s.cfg.Bucket.size(ctx, s.cfg.Bucket.Key(rel))
	if errors.Is(err, ErrNotInBucket) {
		return lost("the bucket has no copy")
	}
	if err != nil {
		return err
	}
	m, err := manifestOf(root, cast)
	if err != nil {
		return err
	}
	if m != nil && m.Bytes != n {
		return lost(fmt.Sprintf("the bucket holds %d bytes, the manifest says %d", n, m.Bytes))
	}
	return nil
}

// manifestFacts are what the shipper checks of a recording's manifest:
// the file it describes and its size. The signature is for verify.
type manifestFacts struct {
	File  string `json:"file"`
	Bytes int64  `json:"bytes"`
}

// manifestOf reads the manifest of the recording cast (in root), or nil
// if it has none.
func manifestOf(root *os.Root, cast string) (*manifestFacts, error) {
	data, err := root.ReadFile(recorder.ManifestPath(cast))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &shipError{ReasonLocal, err}
	}
	var m manifestFacts
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, &shipError{ReasonLocal, fmt.Errorf("%s: %w", recorder.ManifestPath(cast), err)}
	}
	return &m, nil
}

// uploadFile ships one part. A file that cannot be opened as the regular
// file it was a moment ago (a symlink put in its place) is a local error.
func (s *Shipper) uploadFile(ctx context.Context, root *os.Root, p part, key string) (uploaded, error) {
	f, err := root.OpenFile(p.local, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return uploaded{}, &shipError{ReasonLocal, err}
	}
	defer f.Close()
	return s.cfg.Bucket.upload(ctx, f, key, p.size)
}

// failed audits, counts and logs a failed attempt. An audit failure here
// changes nothing: the attempt is retried either way and nothing was
// removed, so it is only logged.
func (s *Shipper) failed(ctx context.Context, rel string, attempt int, retry time.Duration, err error) {
	s.metrics.failures.Inc()
	reason := ReasonUpload
	var se *shipError
	if errors.As(err, &se) {
		reason = se.reason
	}
	s.log.Warn("recording not shipped; will retry", "session", sessionID(rel), "attempt", attempt,
		"retry_in", retry, "reason", reason, "err", err)
	if aerr := s.cfg.Audit.Audit(ctx, store.Event{
		Type: EventShipFailed, Outcome: store.OutcomeError, SessionID: sessionID(rel), Reason: reason,
		Detail: map[string]any{"attempt": attempt, "retry_in_seconds": int64(retry.Seconds()),
			"error": err.Error(), "recording": rel},
	}); aerr != nil {
		s.log.Error("audit of a failed shipment failed", "session", sessionID(rel), "err", aerr)
	}
}

// shipError is a failed pass with the reason the audit event records.
type shipError struct {
	reason string
	err    error
}

func (e *shipError) Error() string { return "shipping: " + e.err.Error() }
func (e *shipError) Unwrap() error { return e.err }

func shippedDetail(bucket string, sent []uploaded) map[string]any {
	files := make([]map[string]any, len(sent))
	for i, u := range sent {
		files[i] = map[string]any{"key": u.Key, "bytes": u.Bytes, "sha256": u.SHA256}
	}
	return map[string]any{"bucket": bucket, "files": files}
}

// sessionID is the session a recording belongs to: its file name is
// SESSION.cast.
func sessionID(rel string) string {
	return strings.TrimSuffix(path.Base(rel), ".cast")
}
