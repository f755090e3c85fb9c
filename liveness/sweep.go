package liveness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bastion-ssh/bastion/store"
)

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
		} else {
			n.lastBeat.Store(time.Now().UnixNano())
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
		code, why, last := ReasonStale, fmt.Sprintf("node %s stopped heartbeating at %s", d.Name, d.Beat.Format(time.RFC3339)), &d
		if d.Released() {
			// Its end could not be written when the node stopped.
			code, why, last = ReasonStopped, fmt.Sprintf("node %s stopped with the session still open", d.Name), nil
		}
		for _, s := range open {
			if err := n.mark(ctx, s, d, last, code, why); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// mark ends session s as incomplete, conditional on row being the dead
// node's row as judged, together with its audit event; last, if known, is
// the dead node's row with its last beat. If the event cannot be written,
// neither is the mark, and the next sweep tries again.
func (n *Node) mark(ctx context.Context, s store.Session, row store.NodeRow, last *store.NodeRow, code, why string) error {
	detail := map[string]any{"session_node": s.Node, "marked_by": n.cfg.Node,
		"stale_after_seconds": n.cfg.bound().Seconds()}
	if last != nil {
		detail["last_heartbeat"] = last.Beat.Format(time.RFC3339Nano)
	}
	at := time.Now()
	e := store.Event{At: at, Type: EventIncomplete, Outcome: store.OutcomeError, SessionID: s.ID, ConnID: s.ConnID,
		Identity: s.Identity, SourceAddr: s.SourceAddr, Target: s.Target, Login: s.Login, Reason: code, Detail: detail}
	if n.cfg.PrepareEvent != nil {
		e = n.cfg.PrepareEvent(e)
	}
	ok, err := n.cfg.Store.MarkIncomplete(ctx, s.ID, store.IncompleteMark{At: at, By: n.cfg.Node, Reason: why, Dead: row}, e)
	if err != nil {
		return fmt.Errorf("liveness: session %s: %w", s.ID, err)
	}
	if ok { // !ok: another node marked it, it ended, or its node beat again
		n.log.Info("session ended as incomplete", "session", s.ID, "session_node", s.Node, "reason", code)
	}
	return nil
}

// Release marks the node stopped once it serves no more (after Run has
// returned): stale at once, so that a start of this node on another host
// need not wait out the bound.
func (n *Node) Release(ctx context.Context) error {
	return n.cfg.Store.ReleaseNode(ctx, n.cfg.Node, n.instance)
}
