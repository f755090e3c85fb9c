package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/store"
)

// Recorded text with escape sequences (a command that clears the
// auditor's screen and retitles the window) is printed inert by sessions
// list, sessions show and audit, and as is only with --raw.
func TestRecordedTextPrintedInert(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	const hostile = "echo \x1b[2J\x1b]0;pwned\x07hidden\x1b[8m"
	ctx := t.Context()
	if err := st.CreateSession(ctx, store.Session{ID: "s-1", ConnID: "c", Identity: "eve\x1b[31m@example.com",
		SourceAddr: "127.0.0.1:1", Target: "db", Login: "root", Kind: "exec", Command: hostile, StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := st.Audit(ctx, store.Event{Type: "command.denied", Outcome: store.OutcomeDenied, SessionID: "s-1",
		Identity: "eve\x1b[31m@example.com", Reason: "denied: " + hostile}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, args := range [][]string{
		{"sessions", "list"}, {"sessions", "show", "s-1"}, {"audit"}, {"audit", "--type", "command"},
	} {
		var out bytes.Buffer
		if err := run(ctx, append(args, "--data", dir), &out, &out); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if strings.ContainsAny(out.String(), "\x1b\x07") || !strings.Contains(out.String(), `\x1b[2J`) {
			t.Errorf("%v printed:\n%q", args, out.String())
		}
		out.Reset()
		if err := run(ctx, append(args, "--data", dir, "--raw"), &out, &out); err != nil {
			t.Fatalf("%v --raw: %v", args, err)
		}
		if !strings.Contains(out.String(), "\x1b]0;pwned\x07") {
			t.Errorf("%v --raw did not print the text as recorded:\n%q", args, out.String())
		}
	}
}

func TestAuditFilters(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i, e := range []store.Event{
		{Type: "sftp.open", Identity: "alice"}, {Type: "sftp.rename", Identity: "bob"},
		{Type: "sftpx.odd", Identity: "alice"}, {Type: "session.start", Identity: "alice"},
		{Type: "sftp", Identity: "alice"},
	} {
		e.At, e.Outcome = t0.Add(time.Duration(i)*time.Minute), store.OutcomeInfo
		if err := st.Audit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--type", "sftp"}, []string{"sftp.open", "sftp.rename", "sftp"}},
		{[]string{"--type", "sftp", "--identity", "alice"}, []string{"sftp.open", "sftp"}},
		{[]string{"--since", "2026-05-01T12:01:00Z", "--until", "2026-05-01T12:03:00Z"}, []string{"sftp.rename", "sftpx.odd", "session.start"}},
		{[]string{"--limit", "2"}, []string{"session.start", "sftp"}}, // the newest, oldest first
	}
	for _, c := range cases {
		var out bytes.Buffer
		if err := run(t.Context(), append([]string{"audit", "--data", dir}, c.args...), &out, &out); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			// seq, date, time, zone, type
			if f := strings.Fields(line); len(f) > 4 {
				got = append(got, f[4])
			}
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("audit %v: types %v, want %v", c.args, got, c.want)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// audit --follow prints events written after it started, until interrupted.
func TestAuditFollow(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Audit(t.Context(), store.Event{Type: "before.follow", Outcome: store.OutcomeInfo}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"audit", "--follow", "--data", dir}, out, out) }()
	waitOutput := func(s string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("--follow never printed %q:\n%s", s, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitOutput("before.follow")
	if err := st.Audit(t.Context(), store.Event{Type: "after.follow", Outcome: store.OutcomeInfo}); err != nil {
		t.Fatal(err)
	}
	waitOutput("after.follow")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("--follow ended with %v", err)
	}
	if strings.Count(out.String(), "before.follow") != 1 {
		t.Errorf("an event printed twice:\n%s", out.String())
	}
}
