package store

import "testing"

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, sqlite, postgres string }{
		{"SELECT 1", "SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = ? AND b = ?", "a = $1 AND b = $2"},
		// A "?" inside a literal is text, not a placeholder.
		{"x LIKE '?%' AND y = ?", "x LIKE '?%' AND y = ?", "x LIKE '?%' AND y = $1"},
		{`id LIKE ? ESCAPE '\' AND n < ?`, `id LIKE ? ESCAPE '\' AND n < ?`, `id LIKE $1 ESCAPE '\' AND n < $2`},
		{"'it''s ?' = ?", "'it''s ?' = ?", "'it''s ?' = $1"},
	} {
		if got := sqliteDialect.rebind(c.in); got != c.sqlite {
			t.Errorf("sqlite %q = %q, want %q", c.in, got, c.sqlite)
		}
		if got := postgresDialect.rebind(c.in); got != c.postgres {
			t.Errorf("postgres %q = %q, want %q", c.in, got, c.postgres)
		}
	}
}
