package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bastion-ssh/bastion/approvals"
	"github.com/bastion-ssh/bastion/internal/pgtest"
	"github.com/bastion-ssh/bastion/policies"
	"github.com/bastion-ssh/bastion/store"
)

// sweepCounter stands in for the front server's sweep: it records that a
// re-check was asked for.
type sweepCounter chan struct{}

func (s sweepCounter) Recheck() { s <- struct{}{} }

// Two bastion nodes on one PostgreSQL: a command held on node A is
// released by an approval given through node B, woken by the change feed
// (node A's broker polls once an hour here, so nothing else could wake
// it); a revocation written through node B makes node A's sweep run.
func TestFollowChangesAcrossNodes(t *testing.T) {
	dsn := pgtest.Start(t).NewDatabase(t)
	open := func() *store.Store {
		st, err := store.Connect(t.Context(), store.Config{PostgresDSN: dsn, DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	stA, stB := open(), open()
	key := []byte("0123456789abcdef0123456789abcdef")
	nodeA, nodeB := approvals.New(stA, key), approvals.New(stB, key)
	nodeA.PollInterval = time.Hour

	ctx, cancel := context.WithCancel(t.Context())
	sweeps := make(sweepCounter, 8)
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		followChanges(stA.Changes(ctx), nodeA, sweeps, slog.New(slog.DiscardHandler))
	}()
	defer func() { cancel(); <-followed }()
	// The feed begins with a resync once it listens: from then on
	// nothing is missed.
	waitFor(t, sweeps)

	req, err := nodeA.Open(ctx, approvals.Request{Requester: "alice@example.com", Target: "db-1", Login: "postgres",
		SessionID: "s1", Command: "reboot", Exact: "reboot", Rule: "restarts",
		Review: policies.Review{Reviewers: []string{"carol@example.com"}, Approvals: 1, Timeout: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan store.Approval, 1)
	go func() {
		a, err := nodeA.Wait(ctx, req.ID)
		if err != nil {
			t.Error(err)
		}
		released <- a
	}()
	// Whoever may connect to the database may NOTIFY: a forged notice
	// makes node A re-read the request, which is still pending, so the
	// command stays held. (The feed passes notices on in order: once the
	// garbage one has reached the sweep, the forged one reached the
	// broker.)
	forger, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer forger.Close(context.WithoutCancel(ctx))
	for _, payload := range []string{"approval:" + req.ID, "not a change"} {
		if _, err := forger.Exec(ctx, "SELECT pg_notify('bastion_changes', $1)", payload); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, sweeps)
	select {
	case a := <-released:
		t.Fatalf("a forged notice released the command: %+v", a)
	default:
	}

	carol := approvals.Reviewer{Identity: "carol@example.com", Channel: approvals.ChannelCLI}
	if _, err := nodeB.Decide(ctx, req.ID, carol, true, "planned maintenance"); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-released:
		if a.State != approvals.StateApproved {
			t.Errorf("node A saw %s, want approved", a.State)
		}
	case <-time.After(30 * time.Second): // a bound against hanging, not a measurement
		t.Fatal("node A's held command was not released")
	}

	if err := stB.Revoke(ctx, store.Revocation{Identity: "alice@example.com", Reason: "offboarded"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, sweeps)
}

func waitFor(t *testing.T, sweeps sweepCounter) {
	t.Helper()
	select {
	case <-sweeps:
	case <-time.After(30 * time.Second):
		t.Fatal("node A's sweep was not asked to re-check")
	}
}

// A change feed that loses PostgreSQL still works, by polling, but more
// slowly: a revocation on another node ends a session here up to a poll
// late. That is said once, as a warning, and its end once; each switch
// re-checks everything, for what may have been missed meanwhile.
func TestAttackChangeFeedOutageIsSaid(t *testing.T) {
	feed := make(chan store.Change, 8)
	for _, c := range []store.Change{{Kind: store.ChangeListening}, {Kind: store.ChangePolling, Why: "connection refused"},
		{Kind: store.ChangePolling, Why: "connection refused"}, {Kind: store.ChangeListening}} {
		feed <- c
	}
	close(feed)
	var logged bytes.Buffer
	sweeps := make(sweepCounter, 8)
	followChanges(feed, approvals.New(nil, nil), sweeps, slog.New(slog.NewTextHandler(&logged, nil)))
	if len(sweeps) != 4 {
		t.Errorf("%d re-checks, want one for each change", len(sweeps))
	}
	lines := strings.Split(strings.TrimSpace(logged.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], "polling") ||
		!strings.Contains(lines[0], "connection refused") || !strings.Contains(lines[1], "listening to PostgreSQL again") {
		t.Errorf("logged:\n%s\nwant one warning naming the fallback and its cause, then one line when listening again", logged.String())
	}
}
