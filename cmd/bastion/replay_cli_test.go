package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/store"
)

func TestSecondsFlag(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"2", 2 * time.Second, false},
		{"0.5", 500 * time.Millisecond, false},
		{"2s", 2 * time.Second, false},
		{"500ms", 500 * time.Millisecond, false},
		{"-1", 0, true},
		{"soon", 0, true},
	} {
		var d time.Duration
		err := secondsFlag{&d}.Set(c.in)
		if (err != nil) != c.bad || d != c.want {
			t.Errorf("Set(%q) = %v, %v", c.in, d, err)
		}
	}
}

// Interrupting a replay (Ctrl-C cancels the context) is how one stops
// watching: exit 0, not an error.
func TestReplayInterruptedExitsZero(t *testing.T) {
	cast := filepath.Join(t.TempDir(), "s.cast")
	os.WriteFile(cast, []byte(`{"version": 2, "width": 80, "height": 24}
[0.1, "o", "hello\r\n"]
[30.0, "o", "later\r\n"]
`), 0o600)
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // as if Ctrl-C came during the first pause
	if err := run(ctx, []string{"replay", "--idle-limit", "60", cast}, io.Discard, io.Discard); err != nil {
		t.Fatalf("interrupted replay: %v", err)
	}
}

// A unique prefix of a session ID works wherever an ID does; times carry
// their zone.
func TestSessionIDPrefix(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"7f3a9c01", "7f3b0000"} {
		if err := st.CreateSession(t.Context(), store.Session{ID: id, Identity: "alice@example.com", Target: "db", Login: "postgres",
			Kind: "exec", Command: "true", StartedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	out := runOK(t, "sessions", "show", "--data", dir, "7f3a")
	if !strings.Contains(out, "session    7f3a9c01") {
		t.Errorf("sessions show 7f3a:\n%s", out)
	}
	err = run(t.Context(), []string{"sessions", "show", "--data", dir, "7f3"}, io.Discard, io.Discard)
	if !errors.Is(err, store.ErrAmbiguous) || !strings.Contains(err.Error(), "7f3b0000") {
		t.Errorf("ambiguous prefix: %v", err)
	}
	err = run(t.Context(), []string{"replay", "--data", dir, "--cat", "7f3"}, io.Discard, io.Discard)
	if !errors.Is(err, store.ErrAmbiguous) {
		t.Errorf("replay with an ambiguous prefix: %v", err)
	}
	zone := time.Now().Format("MST")
	if list := runOK(t, "sessions", "list", "--data", dir); !strings.Contains(list, " "+zone+" ") {
		t.Errorf("sessions list shows no zone (%s):\n%s", zone, list)
	}
}
