package store

import (
	"context"
	"path/filepath"
	"strings"
)

// addedColumns are columns added to tables after their first release. Each
// is added when missing, so a database of any earlier version opens.
var addedColumns = []struct{ table, column, decl string }{
	// The audit chain (chain.go); empty on events written before it began.
	{"audit_events", "prev_hash", "TEXT NOT NULL DEFAULT ''"},
	{"audit_events", "hash", "TEXT NOT NULL DEFAULT ''"},
	// Retention (retention.go): when and why a session's recording was
	// deleted. The row stays, so that verify can tell deleted from missing.
	{"sessions", "deleted_at", "TEXT"},
	{"sessions", "deleted_reason", "TEXT NOT NULL DEFAULT ''"},
}

// migrate brings an existing database up to date: added columns, recording
// paths relative to the data directory, and a started audit chain.
func (s *Store) migrate(ctx context.Context) error {
	for _, c := range addedColumns {
		has, err := s.hasColumn(ctx, c.table, c.column)
		if err != nil {
			return err
		}
		if !has {
			if _, err := s.db.ExecContext(ctx, `ALTER TABLE `+c.table+` ADD COLUMN `+c.column+` `+c.decl); err != nil {
				return err
			}
		}
	}
	if err := s.relativizeRecordings(ctx); err != nil {
		return err
	}
	return s.startChain(ctx)
}

func (s *Store) hasColumn(ctx context.Context, table, column string) (bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return false, err
		}
		if name == column {
			return true, nil
		}
	}
	return false, rows.Err()
}

// relativizeRecordings rewrites absolute recording paths inside the data
// directory as relative ones (earlier versions stored absolute paths, so a
// copied data directory pointed back at the original's files).
func (s *Store) relativizeRecordings(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id, recording FROM sessions WHERE recording LIKE '/%'`)
	if err != nil {
		return err
	}
	type fix struct{ id, rel string }
	var fixes []fix
	for rows.Next() {
		var id, p string
		if err := rows.Scan(&id, &p); err != nil {
			rows.Close()
			return err
		}
		if rel, ok := s.relative(p); ok {
			fixes = append(fixes, fix{id, rel})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, f := range fixes {
		if _, err := s.db.ExecContext(ctx, `UPDATE sessions SET recording = ? WHERE id = ?`, f.rel, f.id); err != nil {
			return err
		}
	}
	return nil
}

// relative returns p relative to the data directory when p lies inside it.
func (s *Store) relative(p string) (string, bool) {
	if !filepath.IsAbs(p) {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", false
		}
		p = abs
	}
	rel, err := filepath.Rel(s.dataDir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// RecordingPath resolves a stored recording path: relative paths against
// the data directory the store was opened in, so that a copy of a data
// directory is checked against its own files.
func (s *Store) RecordingPath(stored string) string {
	if stored == "" || filepath.IsAbs(stored) {
		return stored
	}
	return filepath.Join(s.dataDir, filepath.FromSlash(stored))
}

// storedRecording is the form of a recording path kept in the database.
func (s *Store) storedRecording(p string) string {
	if rel, ok := s.relative(p); ok && p != "" {
		return rel
	}
	return p
}
