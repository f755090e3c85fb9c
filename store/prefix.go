package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrAmbiguous is returned when a session ID prefix matches more than one
// session.
var ErrAmbiguous = errors.New("store: ambiguous session id prefix")

// maxPrefixCandidates bounds the candidates an ambiguous prefix lists.
const maxPrefixCandidates = 5

// SessionByPrefix finds the session whose ID is id, or else the only one
// whose ID starts with it, as git accepts a unique commit prefix. No
// match wraps ErrNotFound; several wrap ErrAmbiguous and name some.
func (s *Store) SessionByPrefix(ctx context.Context, id string) (Session, error) {
	if sess, err := s.Session(ctx, id); !errors.Is(err, ErrNotFound) || id == "" {
		return sess, err
	}
	// LIKE with the prefix's own wildcards escaped, so "a_%" is literal.
	pattern := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(id) + "%"
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM sessions WHERE id LIKE ? ESCAPE '\' ORDER BY started_at DESC LIMIT ?`,
		pattern, maxPrefixCandidates+1)
	if err != nil {
		return Session{}, fmt.Errorf("store: %w", err)
	}
	var ids []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return Session{}, fmt.Errorf("store: %w", err)
		}
		ids = append(ids, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Session{}, fmt.Errorf("store: %w", err)
	}
	switch len(ids) {
	case 0:
		return Session{}, fmt.Errorf("store: session %s: %w", id, ErrNotFound)
	case 1:
		return s.Session(ctx, ids[0])
	}
	more := ""
	if len(ids) > maxPrefixCandidates {
		ids, more = ids[:maxPrefixCandidates], ", ..."
	}
	return Session{}, fmt.Errorf("%w: %s matches %s%s (type more of the id)", ErrAmbiguous, id, strings.Join(ids, ", "), more)
}
