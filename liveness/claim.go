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
	n.lastBeat.Store(time.Now().UnixNano()) // the claim is a beat
	open, err := c.Store.RunningSessions(ctx, c.Node)
	if err != nil {
		return nil, err
	}
	why := fmt.Sprintf("node %s stopped while the session ran and started again", c.Node)
	if prev != nil && !prev.Released() {
		why = fmt.Sprintf("node %s stopped heartbeating at %s and started again", c.Node, prev.Beat.Format(time.RFC3339))
	} else {
		prev = nil // no last beat worth stating
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
