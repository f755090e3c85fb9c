package store

import (
	"errors"
	"testing"
	"time"
)

func TestRevocations(t *testing.T) { forEachBackend(t, testRevocations) }

func testRevocations(t *testing.T, b backend) {
	st := b.new(t)
	ctx := t.Context()
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	if err := st.Revoke(ctx, Revocation{}); !errors.Is(err, ErrEmptyRevocation) {
		t.Errorf("empty revocation: %v", err)
	}
	if err := st.Revoke(ctx, Revocation{Serial: "42", Reason: "laptop lost", At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := st.Revoke(ctx, Revocation{Identity: "bob@example.com", At: t0}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		serial   string
		identity string
		issued   time.Time
		want     bool
	}{
		{"serial", "42", "alice@example.com", t0.Add(-time.Hour), true},
		{"other-serial", "43", "alice@example.com", t0.Add(-time.Hour), false},
		{"identity-before", "7", "bob@example.com", t0.Add(-time.Second), true},
		// Whole seconds against a fraction: string order would get this wrong.
		{"identity-just-before", "7", "bob@example.com", t0.Add(-100 * time.Millisecond), true},
		{"identity-after", "8", "bob@example.com", t0.Add(time.Second), false},
		{"empty-identity", "9", "", t0.Add(-time.Hour), false},
	}
	for _, c := range cases {
		got, err := st.IsRevoked(ctx, c.serial, c.identity, c.issued)
		if err != nil || got != c.want {
			t.Errorf("%s: IsRevoked = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	list, err := st.Revocations(ctx)
	if err != nil || len(list) != 2 || list[0].Reason != "laptop lost" || !list[1].At.Equal(t0) {
		t.Errorf("Revocations = %+v, %v", list, err)
	}
}
