// Package liveness keeps a bastion node's heartbeat in the shared store
// and ends, as incomplete, the sessions a dead node left running.
//
// A node claims its name at start (Claim), then beats every Interval
// (StaleAfter/6) and sweeps: any other node whose beat is older than
// StaleAfter on the database's clock is dead, and each session it still
// has open is ended as incomplete, one audit event each. A node that
// starts and finds sessions of its own still open (it was killed, or lost
// power) ends them the same way before it serves.
//
// Why a live node is never marked: its beat is written every
// StaleAfter/6, so it must miss five beats in a row (a pause, or a cut to
// the database, of more than StaleAfter less one interval) before anyone
// judges it; a node judges others only after its own beats have gone
// through for a full bound (so that after a database outage nobody sweeps
// before the others could beat again); and every mark is one conditional
// UPDATE that holds only while the dead node's row is still the one judged
// stale (store/nodes.go), so a beat that lands between the judgment and
// the mark keeps the sessions. Two survivors racing mark each session once.
package liveness

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/bastion-ssh/bastion/store"
)

// DefaultStaleAfter is how long a node may go without a heartbeat before
// it is taken for dead, when the config sets no bound. Long enough for any
// garbage-collection pause (milliseconds) and short database hiccups; short
// enough that `sessions list` stops showing a dead node's sessions as
// running within half a minute.
const DefaultStaleAfter = 30 * time.Second

// beatsPerBound is how many heartbeats fit in the bound: a node is judged
// dead only after missing beatsPerBound-1 of them in a row.
const beatsPerBound = 6

// EventIncomplete is the audit event of a session ended as incomplete.
const EventIncomplete = "session.incomplete"

// Reason codes of an EventIncomplete event.
const (
	// ReasonStale: the session's node stopped heartbeating.
	ReasonStale = "node-stopped-heartbeating"
	// ReasonRestarted: the session's node started again and found it open.
	ReasonRestarted = "node-restarted"
)

// ErrNodeInUse is returned by Claim when a live process beats under this
// node's name.
var ErrNodeInUse = errors.New("liveness: the node name is in use by a running bastion")

// Store is what liveness needs of the store (*store.Store).
type Store interface {
	Node(ctx context.Context, name string) (store.NodeRow, error)
	ClaimNode(ctx context.Context, row store.NodeRow) error
	Beat(ctx context.Context, name, instance string) error
	StaleNodes(ctx context.Context, bound time.Duration, except string) ([]store.NodeRow, error)
	RunningSessions(ctx context.Context, node string) ([]store.Session, error)
	MarkIncomplete(ctx context.Context, id string, m store.IncompleteMark) (bool, error)
	UnmarkIncomplete(ctx context.Context, id, by string) error
}

// Auditor writes audit events: the node's audit trail.
type Auditor interface {
	Audit(ctx context.Context, e store.Event) error
}

var _ Store = (*store.Store)(nil)

// Config is one node's liveness. Node, Store and Audit are required.
type Config struct {
	Node  string
	Store Store
	Audit Auditor
	// StaleAfter is the bound past which a silent node is dead; zero means
	// DefaultStaleAfter.
	StaleAfter time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Host and PID name this process in its row; empty and zero mean
	// os.Hostname and os.Getpid.
	Host string
	PID  int
	// Alive reports whether process pid runs on this host; nil means
	// signal 0.
	Alive func(pid int) bool
}

// Node is this process's claim on its node name.
type Node struct {
	cfg      Config
	instance string
	log      *slog.Logger
}

// Interval is how often the node beats and sweeps.
func (c Config) Interval() time.Duration { return c.bound() / beatsPerBound }

func (c Config) bound() time.Duration {
	if c.StaleAfter <= 0 {
		return DefaultStaleAfter
	}
	return c.StaleAfter
}

// Claim takes the node's name for this process and ends as incomplete the
// sessions a previous life of the node left open. A previous holder of the
// name is taken to be gone when it ran on this host and its process is
// gone, or else when its beat is older than the bound (Claim waits for
// that, at most the bound); one that beats meanwhile is a live bastion
// with the same name, and Claim fails with ErrNodeInUse.
func Claim(ctx context.Context, c Config) (*Node, error) {
	if c.Host == "" {
		c.Host, _ = os.Hostname()
	}
	if c.PID == 0 {
		c.PID = os.Getpid()
	}
	if c.Alive == nil {
		c.Alive = processAlive
	}
	n := &Node{cfg: c, instance: newInstance(), log: c.Logger}
	if n.log == nil {
		n.log = slog.Default()
	}
	n.log = n.log.With("node", c.Node)
	prev, err := n.waitForPrevious(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.Store.ClaimNode(ctx, store.NodeRow{Name: c.Node, Instance: n.instance, Host: c.Host, PID: c.PID}); err != nil {
		return nil, err
	}
	self, err := c.Store.Node(ctx, c.Node)
	if err != nil {
		return nil, err
	}
	if self.Instance != n.instance {
		return nil, fmt.Errorf("%w: claimed by %s (pid %d) at the same moment", ErrNodeInUse, self.Host, self.PID)
	}
	open, err := c.Store.RunningSessions(ctx, c.Node)
	if err != nil {
		return nil, err
	}
	why := fmt.Sprintf("node %s stopped while the session ran and started again", c.Node)
	if prev != nil {
		why = fmt.Sprintf("node %s stopped heartbeating at %s and started again", c.Node, prev.Beat.Format(time.RFC3339))
	}
	for _, s := range open {
		if err := n.mark(ctx, s, self, prev, ReasonRestarted, why); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// waitForPrevious returns the row of the name's previous holder (nil if
// none) once it is known to be gone.
func (n *Node) waitForPrevious(ctx context.Context) (*store.NodeRow, error) {
	c := n.cfg
	first, err := c.Store.Node(ctx, c.Node)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if first.Host == c.Host && (first.PID == c.PID || !c.Alive(first.PID)) {
		return &first, nil // this host's earlier process, and it is gone
	}
	if first.Age > c.bound() {
		return &first, nil
	}
	n.log.Info("waiting for the node name's previous holder to go stale", "host", first.Host, "pid", first.PID,
		"last_heartbeat", first.Beat, "stale_after", c.bound())
	t := time.NewTicker(c.Interval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
		now, err := c.Store.Node(ctx, c.Node)
		if err != nil {
			return nil, err
		}
		if now.Instance != first.Instance || !now.Beat.Equal(first.Beat) {
			return nil, fmt.Errorf("%w: %s (pid %d) beats under the name %q; give each node its own `node`",
				ErrNodeInUse, now.Host, now.PID, c.Node)
		}
		if now.Age > c.bound() {
			return &now, nil
		}
	}
}

// Run beats and sweeps every Interval until ctx ends. It returns an error
// only when another process has claimed the name (store.ErrNodeTaken):
// two live processes must not serve as one node. A beat or a sweep that
// fails is logged and tried again at the next tick.
//
// The node judges others only once its own beats have gone through,
// without a gap, for a full bound (steady): after a database outage or a
// stall of its own, every node's beat is old, and a node that swept at
// once would take the others for dead before they could beat again.
func (n *Node) Run(ctx context.Context) error {
	interval := n.cfg.Interval()
	t := time.NewTicker(interval)
	defer t.Stop()
	v := vantage{steadySince: time.Now(), lastBeat: time.Now()} // Claim just beat
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		// Each round is bounded by the interval, so that a slow database
		// delays the next beat rather than piling them up.
		rctx, cancel := context.WithTimeout(ctx, interval)
		err := n.cfg.Store.Beat(rctx, n.cfg.Node, n.instance)
		if errors.Is(err, store.ErrNodeTaken) {
			cancel()
			return err
		}
		if err != nil {
			n.log.Warn("node heartbeat failed", "err", err)
		}
		if silent := v.beat(time.Now(), err == nil, interval); silent > n.cfg.bound() {
			n.log.Error("no heartbeat reached the store for longer than limits.node_stale_after: other nodes may take this node for dead and end its sessions as incomplete",
				"silent", silent.Round(time.Second))
		}
		if v.steadyFor(time.Now()) >= n.cfg.bound() {
			if err := n.Sweep(rctx); err != nil && ctx.Err() == nil {
				n.log.Warn("sweep for dead nodes failed", "err", err)
			}
		}
		cancel()
	}
}

// vantage is how far this node's own view of the cluster can be trusted:
// since when its beats have gone through without a gap.
type vantage struct {
	steadySince time.Time // zero: the last beat failed
	lastBeat    time.Time // the last beat that went through
}

// beat records a beat at now and returns how long the node has gone
// without one going through (0 after one did). A beat after a gap of more
// than two intervals (the process stalled) starts a new steady stretch.
func (v *vantage) beat(now time.Time, ok bool, interval time.Duration) time.Duration {
	if !ok {
		v.steadySince = time.Time{}
		return now.Sub(v.lastBeat)
	}
	if v.steadySince.IsZero() || now.Sub(v.lastBeat) > 2*interval {
		v.steadySince = now
	}
	v.lastBeat = now
	return 0
}

// steadyFor is how long the node's beats have gone through without a gap.
func (v *vantage) steadyFor(now time.Time) time.Duration {
	if v.steadySince.IsZero() {
		return 0
	}
	return now.Sub(v.steadySince)
}

// Sweep ends as incomplete every session left open by a node whose beat
// is older than the bound.
func (n *Node) Sweep(ctx context.Context) error {
	dead, err := n.cfg.Store.StaleNodes(ctx, n.cfg.bound(), n.cfg.Node)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range dead {
		open, err := n.cfg.Store.RunningSessions(ctx, d.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		why := fmt.Sprintf("node %s stopped heartbeating at %s", d.Name, d.Beat.Format(time.RFC3339))
		for _, s := range open {
			if err := n.mark(ctx, s, d, &d, ReasonStale, why); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// mark ends session s as incomplete, conditional on row being the dead
// node's row as judged, and audits it. If the audit event cannot be
// written, the mark is taken back: it did not happen.
func (n *Node) mark(ctx context.Context, s store.Session, row store.NodeRow, prev *store.NodeRow, code, why string) error {
	ok, err := n.cfg.Store.MarkIncomplete(ctx, s.ID, store.IncompleteMark{At: time.Now(), By: n.cfg.Node, Reason: why, Dead: row})
	if err != nil || !ok {
		return err // !ok: another node marked it, it ended, or its node beat again
	}
	detail := map[string]any{"session_node": s.Node, "marked_by": n.cfg.Node,
		"stale_after_seconds": n.cfg.bound().Seconds()}
	if prev != nil {
		detail["last_heartbeat"] = prev.Beat.Format(time.RFC3339Nano)
	}
	e := store.Event{Type: EventIncomplete, Outcome: store.OutcomeError, SessionID: s.ID, ConnID: s.ConnID,
		Identity: s.Identity, SourceAddr: s.SourceAddr, Target: s.Target, Login: s.Login, Reason: code, Detail: detail}
	if err := n.cfg.Audit.Audit(ctx, e); err != nil {
		if uerr := n.cfg.Store.UnmarkIncomplete(ctx, s.ID, n.cfg.Node); uerr != nil {
			return errors.Join(err, uerr)
		}
		return fmt.Errorf("liveness: session %s: %w", s.ID, err)
	}
	n.log.Info("session ended as incomplete", "session", s.ID, "session_node", s.Node, "reason", code)
	return nil
}

// processAlive reports whether pid is a running process on this host
// (signal 0: EPERM means it runs under another user).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// newInstance is a fresh random name for this process's claim.
func newInstance() string { return rand.Text() }
