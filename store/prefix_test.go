package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSessionByPrefix(t *testing.T) { forEachBackend(t, testSessionByPrefix) }

func testSessionByPrefix(t *testing.T, b backend) {
	s := b.new(t)
	ctx := t.Context()
	for _, id := range []string{"abc123", "abd456", "a_c789", "zz"} {
		if err := s.CreateSession(ctx, Session{ID: id, Identity: "alice@example.com", Target: "db", Login: "postgres", Kind: "exec", StartedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		prefix, want string
		err          error
	}{
		{"abc123", "abc123", nil},
		{"abc", "abc123", nil},
		{"abd", "abd456", nil},
		{"ab", "", ErrAmbiguous},
		{"a_", "a_c789", nil}, // '_' is literal, not LIKE's any-character
		{"a%", "", ErrNotFound},
		{"q", "", ErrNotFound},
		{"", "", ErrNotFound},
	} {
		got, err := s.SessionByPrefix(ctx, c.prefix)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%q: err = %v, want %v", c.prefix, err, c.err)
			}
			continue
		}
		if err != nil || got.ID != c.want {
			t.Errorf("%q = %q, %v; want %q", c.prefix, got.ID, err, c.want)
		}
	}
	_, err := s.SessionByPrefix(ctx, "ab")
	if !strings.Contains(err.Error(), "abc123") || !strings.Contains(err.Error(), "abd456") {
		t.Errorf("ambiguity does not name the candidates: %v", err)
	}
}
