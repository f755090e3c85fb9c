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
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
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
	// ReasonStopped: the session's node stopped cleanly, but the session's
	// end could not be written.
	ReasonStopped = "node-stopped"
)

// ErrNodeInUse is returned by Claim when a live process beats under this
// node's name.
var ErrNodeInUse = errors.New("liveness: the node name is in use by a running bastion")

// Store is what liveness needs of the store (*store.Store).
type Store interface {
	Node(ctx context.Context, name string) (store.NodeRow, error)
	ClaimNode(ctx context.Context, row store.NodeRow) error
	Beat(ctx context.Context, name, instance string) error
	ReleaseNode(ctx context.Context, name, instance string) error
	StaleNodes(ctx context.Context, bound time.Duration, except string) ([]store.NodeRow, error)
	RunningSessions(ctx context.Context, node string) ([]store.Session, error)
	// MarkIncomplete writes the mark and its audit event in one
	// transaction: both or neither.
	MarkIncomplete(ctx context.Context, id string, m store.IncompleteMark, e store.Event) (bool, error)
}

var _ Store = (*store.Store)(nil)

// Config is one node's liveness. Node and Store are required.
type Config struct {
	Node  string
	Store Store
	// PrepareEvent shapes a mark's audit event as the node's audit trail
	// shapes every event it writes (masking free text, naming the node);
	// nil leaves it as built. The store writes it with the mark.
	PrepareEvent func(store.Event) store.Event
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
	// lastBeat is when a beat last reached the store (Unix nanoseconds,
	// this process's clock), for Beating.
	lastBeat atomic.Int64
}

// Beating reports an error when no beat has reached the store for more
// than half the bound: the node should be sent no new clients (its
// /readyz fails), since the other nodes take it for dead, and end its
// sessions as incomplete, once the bound has passed.
func (n *Node) Beating() error {
	silent := time.Since(time.Unix(0, n.lastBeat.Load()))
	if silent > n.cfg.bound()/2 {
		return fmt.Errorf("no heartbeat has reached the store for %s; other nodes take this node for dead after %s",
			silent.Round(time.Second), n.cfg.bound())
	}
	return nil
}

// Interval is how often the node beats and sweeps.
func (c Config) Interval() time.Duration { return c.bound() / beatsPerBound }

func (c Config) bound() time.Duration {
	if c.StaleAfter <= 0 {
		return DefaultStaleAfter
	}
	return c.StaleAfter
}
