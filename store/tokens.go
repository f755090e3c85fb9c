package store

import (
	"context"
	"fmt"
	"time"
)

// Used login tokens are kept in used_tokens (migrations.go) until their
// token expires, so that the same token cannot buy a second certificate.

// usedTokenGrace keeps a record past its token's expiry, for verifiers
// that accept a token a little late (clock skew).
const usedTokenGrace = 5 * time.Minute

// MarkTokenUsed records that the token id (its jti, or a hash of the
// token) from issuer was exchanged, and reports whether this is the
// first time. Records of tokens expired for longer than the grace are
// dropped on the way: such tokens no longer verify. Unix seconds, not
// text, so that expiry compares in SQL.
func (s *Store) MarkTokenUsed(ctx context.Context, issuer, id string, expires time.Time) (first bool, err error) {
	now := time.Now()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM used_tokens WHERE expires_at < ?`, now.Add(-usedTokenGrace).Unix()); err != nil {
		return false, fmt.Errorf("store: used tokens: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO used_tokens (issuer, token_id, expires_at, used_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (issuer, token_id) DO NOTHING`,
		issuer, id, expires.Unix(), now.Unix())
	if err != nil {
		return false, fmt.Errorf("store: used tokens: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: used tokens: %w", err)
	}
	return n == 1, nil
}
