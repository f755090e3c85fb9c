package store

import (
	"testing"
	"time"
)

func TestMarkTokenUsed(t *testing.T) { forEachBackend(t, testMarkTokenUsed) }

func testMarkTokenUsed(t *testing.T, b backend) {
	s := b.new(t)
	ctx := t.Context()
	exp := time.Now().Add(10 * time.Minute)
	for i, c := range []struct {
		issuer, id string
		want       bool
	}{
		{"https://a", "jti-1", true},
		{"https://a", "jti-1", false}, // replay
		{"https://b", "jti-1", true},  // same jti, another issuer
		{"https://a", "jti-2", true},
	} {
		got, err := s.MarkTokenUsed(ctx, c.issuer, c.id, exp)
		if err != nil || got != c.want {
			t.Errorf("%d: MarkTokenUsed(%s, %s) = %v, %v; want %v", i, c.issuer, c.id, got, err, c.want)
		}
	}
	// Long-expired records are dropped: the token no longer verifies.
	if _, err := s.MarkTokenUsed(ctx, "https://a", "old", time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkTokenUsed(ctx, "https://a", "jti-3", exp); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM used_tokens WHERE token_id = 'old'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("expired record kept: %d, %v", n, err)
	}
}
