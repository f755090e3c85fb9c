package store

import (
	"context"
	"errors"
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
// been missed, so everything is re-checked. On PostgreSQL the feed says
// when it falls back to polling (ChangePolling) and when it listens
// again (ChangeListening): decisions on other nodes then arrive up to a
// poll late, which an operator must be told.

// Kinds of change.
const (
	ChangeApproval   = "approval"   // the approval request ID changed (decided, withdrawn, expired)
	ChangeRevocation = "revocation" // a certificate or identity was revoked
	ChangeResync     = "resync"     // something may have changed: re-check everything
	// ChangeListening: the feed listens (again); what was decided while it
	// did not may have been missed, so re-check everything.
	ChangeListening = "listening"
	// ChangePolling: the feed cannot listen and polls until it can; Why
	// says what failed.
	ChangePolling = "polling"
)

// Change is one notice of a decision written to the store.
type Change struct {
	Kind string
	ID   string // the approval's id, for ChangeApproval
	Why  string // what failed, for ChangePolling
}

// DefaultChangePoll is how often Changes polls when it cannot listen.
const DefaultChangePoll = time.Second

// feedTimes are the change feed's intervals.
type feedTimes struct {
	poll time.Duration // between polls when not listening
	// retry is how long the feed polls before connecting its listener
	// again after losing it.
	retry time.Duration
	// ping is how long the listener waits for a notification before it
	// checks that its connection is alive: a connection cut without a
	// reset (a firewall dropping it) would otherwise wait for ever.
	ping time.Duration
}

var defaultFeedTimes = feedTimes{poll: DefaultChangePoll, retry: time.Second, ping: 30 * time.Second}

// changesChannel is the PostgreSQL notification channel.
const changesChannel = "bastion_changes"

// Changes reports decisions written to the store by any process after the
// call, until ctx ends, then closes the channel. On PostgreSQL the feed
// begins with a ChangeListening once it listens (or a ChangePolling if it
// cannot), which covers what was written before. Each call has its own feed; read it promptly (the feed
// waits for its reader).
func (s *Store) Changes(ctx context.Context) <-chan Change {
	return s.changes(ctx, defaultFeedTimes)
}

func (s *Store) changes(ctx context.Context, ft feedTimes) <-chan Change {
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
			if s.pg != nil && !s.listen(ctx, ft.ping, send) {
				return
			}
			// Not listening: poll until it is time to try again (SQLite:
			// for good).
			if !s.pollChanges(ctx, ft, &summary, send) {
				return
			}
		}
	}()
	return ch
}

// listen follows PostgreSQL notifications on a dedicated connection until
// it fails. It returns false when ctx ended or the reader is gone.
func (s *Store) listen(ctx context.Context, ping time.Duration, send func(Change) bool) bool {
	fallBack := func(err error) bool {
		return ctx.Err() == nil && send(Change{Kind: ChangePolling, Why: err.Error()})
	}
	conn, err := pgx.ConnectConfig(ctx, s.pg.Copy())
	if err != nil {
		return fallBack(err)
	}
	defer func() {
		// Closing says goodbye to the server: bounded, and not cut short
		// by the feed's own end.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ping)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+changesChannel); err != nil {
		return fallBack(err)
	}
	// Decisions taken while nobody listened were not heard.
	if !send(Change{Kind: ChangeListening}) {
		return false
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, ping)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return false
		}
		if errors.Is(err, context.DeadlineExceeded) {
			// Quiet for a while: make sure the connection still is one.
			pctx, cancel := context.WithTimeout(ctx, ping)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return fallBack(err)
			}
			continue
		}
		if err != nil {
			return fallBack(err)
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

// pollChanges polls the change summary and says ChangeResync when it
// moves. On PostgreSQL it returns after ft.retry, to listen again. It returns false when ctx ended or the reader is gone.
func (s *Store) pollChanges(ctx context.Context, ft feedTimes, last *[3]int64, send func(Change) bool) bool {
	var retry <-chan time.Time
	if s.pg != nil {
		retry = time.After(ft.retry)
	}
	t := time.NewTicker(ft.poll)
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
