package store

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Changes tell the other processes sharing a store that something a live
// session depends on was decided: an approval closed, a certificate
// revoked. Without them a node learns of a decision taken on another node
// only when its own timers next re-read the store.
//
// On PostgreSQL each such write also sends a NOTIFY in its transaction
// (delivered on commit, never for a rolled-back write), and Changes
// LISTENs on a connection of its own. When it cannot listen (SQLite, or
// the listening connection lost) it polls a cheap summary of the tables
// and says ChangeResync when the summary moves: a notification may have
// been missed, so everything is re-checked.

// Kinds of change.
const (
	ChangeApproval   = "approval"   // the approval request ID changed (decided, withdrawn, expired)
	ChangeRevocation = "revocation" // a certificate or identity was revoked
	ChangeResync     = "resync"     // something may have changed: re-check everything
)

// Change is one notice of a decision written to the store.
type Change struct {
	Kind string
	ID   string // the approval's id, for ChangeApproval
}

// Named intervals of the change feed.
const (
	// DefaultChangePoll is how often Changes polls when it cannot listen.
	DefaultChangePoll = time.Second
	// listenRetry is how long Changes waits before connecting its
	// listener again after losing it (polling meanwhile).
	listenRetry = time.Second
)

// changesChannel is the PostgreSQL notification channel.
const changesChannel = "bastion_changes"

// Changes reports decisions written to the store by any process after the
// call, until ctx ends, then closes the channel. On PostgreSQL the feed
// begins with a ChangeResync once it listens, which covers what was
// written before. Each call has its own feed; read it promptly (the feed
// waits for its reader).
func (s *Store) Changes(ctx context.Context) <-chan Change {
	return s.changes(ctx, DefaultChangePoll)
}

func (s *Store) changes(ctx context.Context, poll time.Duration) <-chan Change {
	ch := make(chan Change, 16)
	// The summary as last seen, taken before returning so that no change
	// after the call is missed, and kept across listening spells so that a
	// change between two polls is not lost to a reconnection.
	summary, _ := s.changeSummary(ctx)
	go func() {
		defer close(ch)
		send := func(c Change) bool {
			select {
			case ch <- c:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for ctx.Err() == nil {
			if s.dsn != "" && !s.listen(ctx, send) {
				return
			}
			// Not listening: poll until it is time to try again (SQLite:
			// for good).
			if !s.pollChanges(ctx, poll, &summary, send) {
				return
			}
		}
	}()
	return ch
}

// listen follows PostgreSQL notifications on a dedicated connection until
// it fails. It returns false when ctx ended or the reader is gone.
func (s *Store) listen(ctx context.Context, send func(Change) bool) bool {
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return ctx.Err() == nil
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+changesChannel); err != nil {
		return ctx.Err() == nil
	}
	// Decisions taken while nobody listened were not heard.
	if !send(Change{Kind: ChangeResync}) {
		return false
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return ctx.Err() == nil
		}
		kind, id, _ := strings.Cut(n.Payload, ":")
		if kind != ChangeApproval && kind != ChangeRevocation {
			kind, id = ChangeResync, "" // from a newer version: re-check everything
		}
		if !send(Change{Kind: kind, ID: id}) {
			return false
		}
	}
}

// pollChanges polls the change summary every poll and says ChangeResync
// when it moves. On PostgreSQL it returns after listenRetry, to listen
// again. It returns false when ctx ended or the reader is gone.
func (s *Store) pollChanges(ctx context.Context, poll time.Duration, last *[3]int64, send func(Change) bool) bool {
	var retry <-chan time.Time
	if s.dsn != "" {
		retry = time.After(listenRetry)
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-retry:
			return true
		case <-t.C:
		}
		cur, err := s.changeSummary(ctx)
		if err != nil || cur == *last {
			continue // an unreadable store changes nothing a node may act on
		}
		*last = cur
		if !send(Change{Kind: ChangeResync}) {
			return false
		}
	}
}

// changeSummary is a value that moves whenever an approval closes or a
// revocation is added.
func (s *Store) changeSummary(ctx context.Context) ([3]int64, error) {
	var v [3]int64
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM revocations),
		(SELECT count(*) FROM approval_decisions), (SELECT count(*) FROM approvals WHERE state != 'pending')`).
		Scan(&v[0], &v[1], &v[2])
	return v, err
}

// notify sends a change to every listener when t commits (PostgreSQL).
func (t txn) notify(ctx context.Context, kind, id string) error {
	if t.d.notify == "" {
		return nil
	}
	_, err := t.ExecContext(ctx, t.d.notify, changesChannel, kind+":"+id)
	return err
}
