package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/internal/pgtest"
)

// The connection string may carry the password: no error shows it, for a
// malformed string or for a database that cannot be reached.
func TestPostgresErrorsHideThePassword(t *testing.T) {
	const secret = "s3cret-Passw0rd"
	for _, dsn := range []string{
		"postgres://bastion:" + secret + "@127.0.0.1:1/bastion?sslmode=disable&connect_timeout=5",
		"postgres://bastion:" + secret + "@127.0.0.1:notaport/bastion",
		"host=127.0.0.1 port=1 user=bastion password=" + secret + " sslmode=disable connect_timeout=5",
		"host=127.0.0.1 port=1 user=bastion password=" + secret + " sslmode=bogus",
	} {
		_, err := Connect(t.Context(), Config{PostgresDSN: dsn, DataDir: t.TempDir()})
		if err == nil {
			t.Fatalf("%q: connected", dsn)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	if _, err := Connect(t.Context(), Config{PostgresDSN: "postgres://127.0.0.1/x"}); err != ErrNoDataDir {
		t.Errorf("no data directory: %v", err)
	}
}

// PostgreSQL gone: every call returns an error, none hangs, so that the
// callers refuse what they cannot record or check (fail closed). The
// change feed carries on and ends with its context.
func TestPostgresGone(t *testing.T) {
	srv := pgtest.Start(t)
	s := postgresBackend.open(t, Config{PostgresDSN: srv.NewDatabase(t), DataDir: t.TempDir()})
	feedCtx, stopFeed := context.WithCancel(t.Context())
	feed := s.changes(feedCtx, feedTimes{poll: 10 * time.Millisecond, retry: 10 * time.Millisecond, ping: time.Second})
	if err := s.Audit(t.Context(), Event{Type: "bastion.start", Outcome: OutcomeInfo}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a bound against hanging
	defer cancel()
	if err := s.Audit(ctx, Event{Type: "session.start", Outcome: OutcomeAllowed}); err == nil {
		t.Error("an audit event was accepted with the database gone")
	}
	if _, err := s.IsRevoked(ctx, "1", "alice@example.com", time.Now()); err == nil {
		t.Error("a revocation check answered with the database gone")
	}
	if _, err := s.MarkTokenUsed(ctx, "https://idp", "jti", time.Now().Add(time.Minute)); err == nil {
		t.Error("a token was marked used with the database gone")
	}
	if _, err := s.UpdateApproval(ctx, "req-1", func(*Approval) (*ApprovalDecision, error) { return nil, nil }); err == nil {
		t.Error("an approval was updated with the database gone")
	}
	if ctx.Err() != nil {
		t.Fatal("store calls hung with the database gone")
	}
	stopFeed()
	for range feed { // ends with its context
	}
}
