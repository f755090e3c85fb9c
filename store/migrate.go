package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Migration names one schema version, applied or pending.
type Migration struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
}

// schemaMigrations records the versions applied. Its own form never
// changes, so that any version of the bastion can read it.
const schemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at TEXT NOT NULL
)`

// PendingMigrations lists the schema versions this database lacks, in the
// order Migrate would apply them. It writes nothing.
func (s *Store) PendingMigrations(ctx context.Context) ([]Migration, error) {
	applied, err := s.appliedVersions(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	var out []Migration
	for _, m := range migrations {
		if !applied[m.version] {
			out = append(out, Migration{m.version, m.name})
		}
	}
	return out, nil
}

// Migrate applies the pending schema versions in one transaction, under a
// lock that makes a second process (another node starting at the same
// moment) wait and then find nothing left to do. It returns what it
// applied.
func (s *Store) Migrate(ctx context.Context) ([]Migration, error) {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	defer t.Rollback() //nolint:errcheck // a no-op after Commit
	if err := t.lock(ctx, s.db.d.lockMigrations); err != nil {
		return nil, fmt.Errorf("store: migrate: lock: %w", err)
	}
	if _, err := t.ExecContext(ctx, schemaMigrations); err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	applied, err := s.appliedVersions(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	var done []Migration
	for _, m := range migrations {
		if applied[m.version] {
			continue
		}
		if err := s.apply(ctx, t, m); err != nil {
			return nil, fmt.Errorf("store: migration %d (%s): %w", m.version, m.name, err)
		}
		done = append(done, Migration{m.version, m.name})
	}
	if err := t.Commit(); err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	return done, nil
}

func (s *Store) apply(ctx context.Context, t txn, m migration) error {
	stmt := m.sqlite
	if s.db.d.name == BackendPostgres {
		stmt = m.postgres
	}
	if stmt != "" {
		if _, err := t.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	for _, c := range m.columns {
		has, err := hasColumn(ctx, t, s.db.d, c.table, c.column)
		if err != nil {
			return err
		}
		if !has {
			if _, err := t.ExecContext(ctx, `ALTER TABLE `+c.table+` ADD COLUMN `+c.column+` `+c.decl); err != nil {
				return err
			}
		}
	}
	if m.step != nil {
		if err := m.step(ctx, s, t); err != nil {
			return err
		}
	}
	_, err := t.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().UTC().Format(timeFormat))
	return err
}

// appliedVersions reads schema_migrations; a database without it has none.
func (s *Store) appliedVersions(ctx context.Context, q querier) (map[int]bool, error) {
	has, err := hasColumn(ctx, q, s.db.d, "schema_migrations", "version")
	if err != nil || !has {
		return map[int]bool{}, err
	}
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

func hasColumn(ctx context.Context, q querier, d dialect, table, column string) (bool, error) {
	rows, err := q.QueryContext(ctx, d.columns, table)
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
func (s *Store) relativizeRecordings(ctx context.Context, t txn) error {
	rows, err := t.QueryContext(ctx, `SELECT id, recording FROM sessions WHERE recording LIKE '/%'`)
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
		if _, err := t.ExecContext(ctx, `UPDATE sessions SET recording = ? WHERE id = ?`, f.rel, f.id); err != nil {
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
