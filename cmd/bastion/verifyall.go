package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bastion-ssh/bastion/liveness"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/shipping"
	"github.com/bastion-ssh/bastion/store"
)

// verifyInput is what `verify --all` checks: exactly the data directory it
// is given (recording paths in the store resolve against it), with the
// tree heads saved outside it.
type verifyInput struct {
	dataDir       string
	recordingsDir string // where recordings are; usually DATA/recordings
	pub           ed25519.PublicKey
	heads         []savedHead
	// store, if set, is the store --config names (PostgreSQL); else the
	// data directory's database.
	store  *store.Config
	source *recordingSource // reads shipped recordings from the bucket; nil: local only
	// node is this bastion's name (config node) when --config is given:
	// a session another node ran never had a local copy here.
	node string
}

// savedHead is a signed tree head kept outside the data directory.
type savedHead struct {
	from string // where it was read: the witness file, --tree-head FILE
	head []byte
}

// verifyReport is the result of `verify --all`, printed or as JSON.
type verifyReport struct {
	DataDir  string             `json:"data_dir"`
	Log      logCheck           `json:"log"`
	Sessions []sessionCheck     `json:"sessions"`
	Audit    *store.ChainReport `json:"audit,omitempty"`
	Problems []string           `json:"problems"`
	Notes    []string           `json:"notes,omitempty"`
}

type logCheck struct {
	Records int64 `json:"records"`
	// Shared: the log is the one in the store that every node appends to.
	Shared      bool     `json:"shared"`
	Sessions    int      `json:"sessions"`
	Checkpoints int      `json:"audit_checkpoints"`
	Heads       []string `json:"saved_heads,omitempty"` // each saved head checked
}

// Session verdicts.
const (
	verdictVerified   = "verified"
	verdictIncomplete = "incomplete" // no manifest: verified to its last checkpoint (crashed or still running)
	verdictDeleted    = "deleted"    // removed by retention, as the audit trail records
	verdictBad        = "bad"
)

type sessionCheck struct {
	ID      string `json:"id"`
	Verdict string `json:"verdict"`
	Detail  string `json:"detail"`
	// Unshipped: recordings are shipped to a bucket, and this one's local
	// files are not yet verified there.
	Unshipped bool     `json:"unshipped,omitempty"`
	Problems  []string `json:"problems,omitempty"`
}

func (r *verifyReport) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// verifyAll checks the session log against the saved tree heads, every
// session that the store, the log or the recordings folder knows of, and
// the audit chain against the checkpoints in the log.
func verifyAll(ctx context.Context, in verifyInput) (*verifyReport, error) {
	r := &verifyReport{DataDir: in.dataDir, Problems: []string{}}
	sc := store.Config{SQLitePath: dbPath(in.dataDir)}
	if in.store != nil {
		sc = *in.store
	} else if _, err := os.Stat(dbPath(in.dataDir)); err != nil {
		return nil, fmt.Errorf("no bastion database in %s", in.dataDir)
	}
	st, err := store.Connect(ctx, sc)
	if err != nil {
		return nil, err
	}
	defer st.Close()

	var entries []recorder.LogEntry
	snap, err := snapshotSessionLog(ctx, st, in.dataDir, in.pub)
	if err != nil {
		r.problem("session log: %v", err)
	} else {
		entries = snap.Entries
	}
	r.Log.Records, r.Log.Shared = int64(len(entries)), sharedLog(st)
	for _, h := range in.heads {
		old, cur, err := savedHeadExtended(in, st, snap, h.head)
		if err != nil {
			r.problem("session log against the tree head in %s: %v", h.from, err)
			continue
		}
		r.Log.Heads = append(r.Log.Heads, fmt.Sprintf("%s: %d records, extended to %d", h.from, old.N, cur.N))
	}
	if len(in.heads) == 0 {
		r.Notes = append(r.Notes, "no saved tree head to compare with: a data directory restored from an older copy "+
			"cannot be told apart (configure evidence.witness_file, or pass --tree-head FILE)")
	}
	logged := map[string]recorder.LogEntry{}
	var checkpoints []store.ChainHead
	for _, e := range entries {
		switch e.Type {
		case recorder.RecordSession:
			logged[e.SessionID] = e
		case recorder.RecordAuditCheckpoint:
			checkpoints = append(checkpoints, store.ChainHead{Seq: e.Seq, Hash: e.Hash, Start: e.Start})
		default:
			r.problem("session log record %d has unknown type %q", e.Index, e.Type)
		}
	}
	r.Log.Sessions, r.Log.Checkpoints = len(logged), len(checkpoints)

	chain, err := st.VerifyChain(ctx, checkpoints)
	if err != nil {
		return nil, err
	}
	r.Audit = &chain
	for _, p := range chain.Problems {
		r.problem("audit trail: %s", p)
	}
	retained, err := retentionDeletions(ctx, st)
	if err != nil {
		return nil, err
	}
	shipped, err := eventsBySession(ctx, st, shipping.EventShipped)
	if err != nil {
		return nil, err
	}
	marked, err := eventsBySession(ctx, st, liveness.EventIncomplete)
	if err != nil {
		return nil, err
	}

	rows, err := st.ListSessions(ctx, store.SessionFilter{Limit: 1 << 40})
	if err != nil {
		return nil, err
	}
	onDisk, err := castFiles(in.recordingsDir)
	if err != nil {
		return nil, err
	}
	byID := map[string]store.Session{}
	ids := map[string]bool{}
	for _, s := range rows {
		byID[s.ID], ids[s.ID] = s, true
	}
	for id := range logged {
		ids[id] = true
	}
	for id := range onDisk {
		ids[id] = true
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	var unshipped []string
	for _, id := range sorted {
		row, hasRow := byID[id]
		entry, inLog := logged[id]
		c := checkSession(ctx, in, id, row, hasRow, entry, inLog, onDisk[id], retained[id], shipped[id], marked[id])
		r.Sessions = append(r.Sessions, c)
		if c.Unshipped {
			unshipped = append(unshipped, id)
		}
		for _, p := range c.Problems {
			r.problem("session %s: %s", id, p)
		}
	}
	if len(unshipped) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d recordings not yet shipped to bucket %s (on this node only): %s",
			len(unshipped), in.source.bucket.Name(), strings.Join(unshipped, ", ")))
	}
	return r, nil
}

// castFiles finds the recordings in dir by session id (the file's stem):
// casts, and manifests or checkpoints whose cast is gone.
func castFiles(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == dir {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		for _, suffix := range []string{".cast", ".manifest.json", ".checkpoints"} {
			if id, ok := strings.CutSuffix(name, suffix); ok && !strings.HasPrefix(name, ".") {
				if _, seen := out[id]; !seen || suffix == ".cast" {
					out[id] = strings.TrimSuffix(path, suffix) + ".cast"
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recordings in %s: %w", dir, err)
	}
	return out, nil
}

// print writes the report for a person: one line per session, then the
// problems, then a verdict. Recorded text is rendered inert unless raw.
func (r *verifyReport) print(w io.Writer, raw display) {
	fmt.Fprintf(w, "data directory %s\n", raw.s(r.DataDir))
	where := "session log"
	if r.Log.Shared {
		where = "session log (shared by every node, in the store)"
	}
	fmt.Fprintf(w, "%s: %d records (%d sessions, %d audit checkpoints), signed tree head verified\n",
		where, r.Log.Records, r.Log.Sessions, r.Log.Checkpoints)
	for _, h := range r.Log.Heads {
		fmt.Fprintf(w, "saved tree head %s\n", raw.s(h))
	}
	if a := r.Audit; a != nil {
		fmt.Fprintf(w, "audit trail: %d chained events from event %d (%d earlier unchained), %d checkpoints matched, %d events after the newest checkpoint\n",
			a.Chained, a.Start, a.Unchained, a.Checkpoints, a.Unanchored)
	}
	counts := map[string]int{}
	for _, s := range r.Sessions {
		counts[s.Verdict]++
		fmt.Fprintf(w, "  %-10s %s  %s\n", s.Verdict, raw.s(s.ID), raw.s(s.Detail))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", raw.s(n))
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "PROBLEM: %s\n", raw.s(p))
	}
	if len(r.Problems) == 0 {
		fmt.Fprintf(w, "all %d recorded sessions verified against their manifests and the log (%d complete, %d incomplete, %d deleted by retention)\n",
			len(r.Sessions), counts[verdictVerified], counts[verdictIncomplete], counts[verdictDeleted])
	}
}
