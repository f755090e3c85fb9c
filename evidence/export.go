package evidence

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/replay"
	"github.com/bastion-ssh/bastion/store"
)

// Options configures Export.
type Options struct {
	Filter
	// LogDir is the session log's directory. Required unless Log is set.
	LogDir string
	// Log, if set, is the session log, verified already (the one the
	// nodes share in the store): LogDir is not read.
	Log *recorder.LogSnapshot
	// RecordingsDir is where recordings are: a session's files are read
	// as ID.cast there, never from the path its database row names (a
	// writer to the database could point that at any file). Required.
	RecordingsDir string
	// Key signs the bundle's manifest; its public key must be the one
	// that signed the recordings and the log. Required.
	Key ed25519.PrivateKey
	// Now returns the current time; if nil, time.Now is used.
	Now func() time.Time
	// Progress, if set, is called as members are written with the bytes
	// written so far and the total expected.
	Progress func(done, total int64)
	// Fetch, if set, returns a local path to read a recording from when
	// its file under RecordingsDir is gone: a copy from object storage.
	Fetch func(ctx context.Context, castPath string) (string, error)
}

// Export writes a bundle of what st and the session log hold for o.Filter
// to w, and returns its report.
func Export(ctx context.Context, w io.Writer, st *store.Store, o Options) (*Report, error) {
	if o.Key == nil || (o.LogDir == "" && o.Log == nil) || o.RecordingsDir == "" {
		return nil, errors.New("evidence: a signing key, the log directory and the recordings directory are required")
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	pub := o.Key.Public().(ed25519.PublicKey)
	snap := o.Log
	if snap == nil {
		var err error
		if snap, err = recorder.SnapshotLog(o.LogDir, pub); err != nil {
			return nil, fmt.Errorf("evidence: the session log does not verify, so it cannot vouch for a bundle: %w", err)
		}
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	created := now().UTC()
	rep := &Report{Created: created.Format(time.RFC3339), Filter: o.Filter, KeyFingerprint: ssh.FingerprintSHA256(sshPub),
		Log: LogSummary{Records: snap.Tree.N, Root: snap.Tree.Hash.String()}, Problems: []string{}}
	sf := store.SessionFilter{ID: o.Session, Identity: o.Identity, Target: o.Target, Since: o.Since, Until: o.Until}

	// A first pass for the total, so that progress can say how far along.
	var total int64
	if err := st.EachSession(ctx, sf, func(s store.Session) error {
		if cast, ok := ownRecording(o.RecordingsDir, s); ok {
			total += sessionBytes(cast)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var progress func(int64)
	if o.Progress != nil {
		progress = func(done int64) { o.Progress(done, total) }
	}
	b := newBundleWriter(w, created, progress)
	if err := writeStatic(b, ssh.MarshalAuthorizedKey(sshPub), snap.Head); err != nil {
		return nil, err
	}
	logged := map[string]int64{}
	for _, e := range snap.Entries {
		if e.Type == recorder.RecordSession {
			logged[e.SessionID] = e.Index
		}
	}
	err = st.EachSession(ctx, sf, func(s store.Session) error {
		rec, err := exportSession(ctx, b, st, s, snap, logged, pub, o.RecordingsDir, o.Fetch)
		if err != nil {
			return err
		}
		if !rec.OK {
			rep.Problems = append(rep.Problems, fmt.Sprintf("session %s: %s", s.ID, rec.Verified))
		}
		rep.Sessions = append(rep.Sessions, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	events, err := exportAudit(ctx, b, st, o.Filter, snap, &rep.Audit)
	if err != nil {
		return nil, err
	}
	if rep.Audit.Note != "" {
		rep.Problems = append(rep.Problems, "audit trail: "+rep.Audit.Note)
	}
	reportJSON, err := marshalIndent(rep)
	if err != nil {
		return nil, err
	}
	if err := b.addBytes("report.json", reportJSON); err != nil {
		return nil, err
	}
	index, err := renderIndex(rep, events)
	if err != nil {
		return nil, err
	}
	if err := b.addBytes("index.html", index); err != nil {
		return nil, err
	}
	if err := b.close(bundleManifest{Created: rep.Created}, func(m *bundleManifest) error { return m.sign(o.Key) }); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	return rep, nil
}

// sessionBytes is the size of a session's files, for progress.
// ownRecording returns the recording s's row names if it is s's own:
// ID.cast somewhere under the recordings directory. Any other path (a
// database writer could name any file) is not to be read.
func ownRecording(dir string, s store.Session) (string, bool) {
	if s.Recording == "" || !safeID(s.ID) || filepath.Base(s.Recording) != s.ID+".cast" {
		return "", false
	}
	absDir, err1 := filepath.Abs(dir)
	absRec, err2 := filepath.Abs(s.Recording)
	if err1 != nil || err2 != nil {
		return "", false
	}
	rel, err := filepath.Rel(absDir, absRec)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return s.Recording, true
}

func sessionBytes(cast string) int64 {
	var n int64
	for _, p := range []string{cast, recorder.ManifestPath(cast), recorder.CheckpointsPath(cast)} {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}

// writeStatic writes the members every bundle has: the README, the key,
// the tree head and the player.
func writeStatic(b *bundleWriter, authorizedKey, head []byte) error {
	if err := b.addBytes("README.txt", []byte(readme)); err != nil {
		return err
	}
	if err := b.addBytes("keys/signing_key.pub", authorizedKey); err != nil {
		return err
	}
	if err := b.addBytes("log/head", head); err != nil {
		return err
	}
	for _, name := range []string{"asciinema-player.min.js", "asciinema-player.css", "LICENSE.asciinema-player"} {
		data, err := replay.PlayerAsset(name)
		if err != nil {
			return err
		}
		if err := b.addBytes("player/"+name, data); err != nil {
			return err
		}
	}
	for _, name := range []string{"play.js", "page.css"} {
		data, err := pageAssets.ReadFile("web/" + name)
		if err != nil {
			return err
		}
		if err := b.addBytes("player/"+name, data); err != nil {
			return err
		}
	}
	return nil
}

// exportSession writes one session's members and returns its record.
func exportSession(ctx context.Context, b *bundleWriter, st *store.Store, s store.Session, snap *recorder.LogSnapshot,
	logged map[string]int64, pub ed25519.PublicKey, recordings string,
	fetch func(context.Context, string) (string, error)) (SessionRecord, error) {
	rec := SessionRecord{ID: s.ID, Identity: s.Identity, SourceAddr: s.SourceAddr, Target: s.Target, Login: s.Login,
		Kind: s.Kind, Command: s.Command, StartedAt: s.StartedAt, EndedAt: s.EndedAt, ExitStatus: s.ExitStatus,
		ExitSignal: s.ExitSignal, EndReason: s.EndReason, DeletedAt: s.DeletedAt}
	if !safeID(s.ID) {
		rec.Verified = fmt.Sprintf("session id %q cannot name a bundle folder; not exported", s.ID)
		return rec, nil
	}
	if err := sessionEvidence(ctx, st, s, &rec); err != nil {
		return rec, err
	}
	if idx, ok := logged[s.ID]; ok {
		p, err := snap.Prove(idx)
		if err != nil {
			return rec, err
		}
		rec.LogProof = &p
	}
	dir := "sessions/" + s.ID + "/"
	cast, own := ownRecording(recordings, s)
	if _, err := os.Lstat(cast); own && errors.Is(err, fs.ErrNotExist) && fetch != nil && s.DeletedAt == nil {
		switch fetched, err := fetch(ctx, cast); {
		case err == nil:
			cast = fetched
		case !errors.Is(err, fs.ErrNotExist):
			return rec, err
		}
	}
	res, verr := recorder.Verify(cast, pub)
	switch {
	case s.DeletedAt != nil:
		rec.Verified, rec.OK = "recording deleted by retention: "+s.DeletedReason, true
	case errors.Is(verr, fs.ErrNotExist) || cast == "":
		rec.Verified = "recording missing"
	case verr != nil && !errors.Is(verr, recorder.ErrIncomplete):
		rec.Verified = verr.Error()
	default:
		rec.Verified, rec.OK = res.String(), true
		if res.Header != nil {
			rec.Groups = res.Header.Session.Groups
		}
	}
	if !own && s.Recording != "" {
		rec.Verified = fmt.Sprintf("the database row names recording %q, not %s.cast in %s (not read)", s.Recording, s.ID, recordings)
		rec.OK = false
	}
	if cast != "" {
		// Of a session retention deleted, only the signed manifest is
		// left: with the log proof it still shows what the recording was.
		for _, p := range []string{cast, recorder.ManifestPath(cast), recorder.CheckpointsPath(cast)} {
			name := dir + filepath.Base(p)
			err := b.addFile(name, p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return rec, err
			}
			rec.Files = append(rec.Files, name)
		}
		if len(rec.Files) > 0 && strings.HasSuffix(rec.Files[0], ".cast") {
			if err := writePlayer(b, dir, rec, cast); err != nil {
				return rec, err
			}
			rec.Player = dir + "play.html"
		}
	}
	data, err := marshalIndent(rec)
	if err != nil {
		return rec, err
	}
	return rec, b.addBytes(dir+"session.json", data)
}

// sessionEvidence fills in what the audit trail and the approvals table
// say about a session: its certificate, decisions and masking records.
func sessionEvidence(ctx context.Context, st *store.Store, s store.Session, rec *SessionRecord) error {
	if s.ConnID != "" {
		auth, err := st.Events(ctx, store.EventFilter{ConnID: s.ConnID, Type: "auth.certificate"})
		if err != nil {
			return err
		}
		for _, e := range auth {
			if e.Outcome == store.OutcomeAllowed {
				rec.Certificate = e.Detail
			}
		}
	}
	evs, err := st.Events(ctx, store.EventFilter{SessionID: s.ID})
	if err != nil {
		return err
	}
	for _, e := range evs {
		row := map[string]any{"seq": e.Seq, "at": e.At, "type": e.Type, "outcome": e.Outcome, "reason": e.Reason, "detail": e.Detail}
		switch {
		case strings.HasPrefix(e.Type, "masking."):
			rec.Masking = append(rec.Masking, row)
		case strings.HasPrefix(e.Type, "command."), strings.HasPrefix(e.Type, "approval."), e.Outcome == store.OutcomeDenied:
			rec.Decisions = append(rec.Decisions, row)
		}
	}
	rec.Approvals, err = st.OptionalRows(ctx, "approvals", "session_id", s.ID)
	return err
}
