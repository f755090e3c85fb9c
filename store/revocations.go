package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrEmptyRevocation is returned by Revoke when neither a serial nor an
// identity is given.
var ErrEmptyRevocation = errors.New("store: revocation names no serial and no identity")

// Revocation withdraws certificates: one serial, or every certificate of
// an identity issued before At.
type Revocation struct {
	Serial   string    `json:"serial,omitempty"` // decimal certificate serial
	Identity string    `json:"identity,omitempty"`
	At       time.Time `json:"revoked_at"`
	Reason   string    `json:"reason,omitempty"`
}

// Revoke records a revocation; At defaults to now. Exactly one of Serial
// and Identity is expected; a revocation naming both matches either.
func (s *Store) Revoke(ctx context.Context, r Revocation) error {
	if r.Serial == "" && r.Identity == "" {
		return ErrEmptyRevocation
	}
	if r.At.IsZero() {
		r.At = time.Now()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: revoke: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	_, err = tx.ExecContext(ctx, `INSERT INTO revocations (serial, identity, revoked_at, reason) VALUES (?, ?, ?, ?)`,
		r.Serial, r.Identity, r.At.UTC().Format(timeFormat), r.Reason)
	if err != nil {
		return fmt.Errorf("store: revoke: %w", err)
	}
	// Every node's sweep hears of it now, not at its next tick.
	if err := tx.notify(ctx, ChangeRevocation, ""); err != nil {
		return fmt.Errorf("store: revoke: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: revoke: %w", err)
	}
	return nil
}

// IsRevoked reports whether the certificate with this serial, naming this
// identity and issued at issuedAt, is revoked: its serial is revoked, or
// its identity was revoked after it was issued. Certificates issued after
// an identity revocation are valid again (a revocation ends the
// certificates that exist; stopping new logins is the identity
// provider's job).
func (s *Store) IsRevoked(ctx context.Context, serial, identity string, issuedAt time.Time) (bool, error) {
	// Times are compared in Go: RFC 3339 strings with trimmed fractions
	// do not sort chronologically.
	rows, err := s.db.QueryContext(ctx, `SELECT serial, revoked_at FROM revocations
		WHERE (serial != '' AND serial = ?) OR (identity != '' AND identity = ?)`, serial, identity)
	if err != nil {
		return false, fmt.Errorf("store: revocation check: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rs, at string
		if err := rows.Scan(&rs, &at); err != nil {
			return false, fmt.Errorf("store: revocation check: %w", err)
		}
		if rs != "" && rs == serial {
			return true, nil
		}
		t, err := time.Parse(timeFormat, at)
		if err != nil || t.After(issuedAt) {
			return true, nil // an unreadable time fails closed
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("store: revocation check: %w", err)
	}
	return false, nil
}

// Revocations lists revocations, oldest first.
func (s *Store) Revocations(ctx context.Context) ([]Revocation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT serial, identity, revoked_at, reason FROM revocations ORDER BY revoked_at`)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Revocation
	for rows.Next() {
		var r Revocation
		var at string
		if err := rows.Scan(&r.Serial, &r.Identity, &at, &r.Reason); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		r.At, _ = time.Parse(timeFormat, at)
		out = append(out, r)
	}
	return out, rows.Err()
}
