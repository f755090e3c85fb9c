package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSessionsAndAudit(t *testing.T) { forEachBackend(t, testSessionsAndAudit) }

func testSessionsAndAudit(t *testing.T, b backend) {
	ctx := context.Background()
	c := b.fresh(t)
	if c.SQLitePath != "" {
		c.SQLitePath = filepath.Join(filepath.Dir(c.SQLitePath), "db", "bastion.db")
	}
	s := b.open(t, c)
	if c.SQLitePath != "" {
		if st, err := os.Stat(c.SQLitePath); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("database mode = %v, %v", st.Mode(), err)
		}
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, id := range []string{"a-1", "b-1"} {
		err := s.CreateSession(ctx, Session{ID: id, ConnID: id[:1], Identity: "alice@example.com", SourceAddr: "127.0.0.1:1",
			Target: "db", Login: "postgres", Kind: "exec", Command: "true", StartedAt: t0.Add(time.Duration(i) * time.Minute),
			Node: map[string]string{"a-1": "bastion-a"}[id]})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSession(ctx, Session{ID: "a-1", StartedAt: t0}); err == nil {
		t.Error("a duplicate session id was accepted")
	}
	three := 3
	if err := s.EndSession(ctx, "a-1", SessionEnd{At: t0.Add(time.Hour), ExitStatus: &three, RecordingSize: 99}); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, "nope", SessionEnd{At: t0}); !errors.Is(err, ErrNotFound) {
		t.Errorf("ending an unknown session: %v", err)
	}
	list, err := s.ListSessions(ctx, SessionFilter{})
	if err != nil || len(list) != 2 || list[0].ID != "b-1" || list[0].Node != "" {
		t.Fatalf("list = %+v, %v (want newest first)", list, err)
	}
	got, err := s.Session(ctx, "a-1")
	if err != nil || got.ExitStatus == nil || *got.ExitStatus != 3 || got.RecordingSize != 99 || got.EndedAt == nil || !got.StartedAt.Equal(t0) ||
		got.Node != "bastion-a" {
		t.Errorf("session = %+v, %v", got, err)
	}
	if _, err := s.Session(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown session: %v", err)
	}

	ev := int64(4)
	for _, typ := range []string{"session.start", "masking.applied", "session.end"} {
		if err := s.Audit(ctx, Event{Type: typ, Outcome: OutcomeInfo, SessionID: "a-1", RecEvent: &ev,
			Detail: map[string]any{"n": 1}}); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := s.Events(ctx, EventFilter{SessionID: "a-1"})
	if err != nil || len(evs) != 3 || evs[0].Type != "session.start" || evs[2].Seq <= evs[0].Seq {
		t.Fatalf("events = %+v, %v", evs, err)
	}
	if evs[1].RecEvent == nil || *evs[1].RecEvent != 4 || evs[1].Detail["n"] != float64(1) || evs[1].At.IsZero() {
		t.Errorf("event round trip = %+v", evs[1])
	}
	if only, _ := s.Events(ctx, EventFilter{Type: "masking.applied"}); len(only) != 1 {
		t.Errorf("type filter: %d events", len(only))
	}
}

func TestOptionalRows(t *testing.T) { forEachBackend(t, testOptionalRows) }

func testOptionalRows(t *testing.T, b backend) {
	s := b.new(t)
	ctx := t.Context()
	if rows, err := s.OptionalRows(ctx, "side_notes", "session_id", "s1"); rows != nil || err != nil {
		t.Errorf("missing table: %v, %v", rows, err)
	}
	exec(t, s, `CREATE TABLE side_notes (id INTEGER, session_id TEXT, reviewer TEXT)`)
	exec(t, s, `INSERT INTO side_notes VALUES (1, 's1', 'carol'), (2, 's2', 'dave')`)
	rows, err := s.OptionalRows(ctx, "side_notes", "session_id", "s1")
	if err != nil || len(rows) != 1 || rows[0]["reviewer"] != "carol" {
		t.Errorf("approvals of s1: %v, %v", rows, err)
	}
	if _, err := s.OptionalRows(ctx, "side_notes; DROP TABLE sessions", "x", "y"); err == nil {
		t.Error("a table name that is SQL was accepted")
	}
}
