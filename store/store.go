package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// Store is the SQLite-backed session and audit store. Safe for concurrent use.
type Store struct {
	db      *sql.DB
	dataDir string     // absolute directory of the database; recording paths are stored relative to it
	auditMu sync.Mutex // serialises this process's audit writes (see chain.go)
}

const schema = `
CREATE TABLE IF NOT EXISTS sessions (
	id            TEXT PRIMARY KEY,
	conn_id       TEXT NOT NULL,
	identity      TEXT NOT NULL,
	source_addr   TEXT NOT NULL,
	target        TEXT NOT NULL,
	login         TEXT NOT NULL,
	kind          TEXT NOT NULL,
	command       TEXT NOT NULL DEFAULT '',
	started_at    TEXT NOT NULL,
	ended_at      TEXT,
	exit_status   INTEGER,
	exit_signal   TEXT NOT NULL DEFAULT '',
	end_reason    TEXT NOT NULL DEFAULT '',
	recording     TEXT NOT NULL DEFAULT '',
	recording_size INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_started ON sessions(started_at);
CREATE TABLE IF NOT EXISTS audit_events (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	at           TEXT NOT NULL,
	type         TEXT NOT NULL,
	outcome      TEXT NOT NULL,
	session_id   TEXT NOT NULL DEFAULT '',
	conn_id      TEXT NOT NULL DEFAULT '',
	identity     TEXT NOT NULL DEFAULT '',
	source_addr  TEXT NOT NULL DEFAULT '',
	target       TEXT NOT NULL DEFAULT '',
	login        TEXT NOT NULL DEFAULT '',
	reason       TEXT NOT NULL DEFAULT '',
	detail       TEXT NOT NULL DEFAULT '{}',
	rec_event    INTEGER,
	rec_time     REAL
);
CREATE INDEX IF NOT EXISTS audit_session ON audit_events(session_id);
CREATE TABLE IF NOT EXISTS revocations (
	serial     TEXT NOT NULL DEFAULT '',
	identity   TEXT NOT NULL DEFAULT '',
	revoked_at TEXT NOT NULL,
	reason     TEXT NOT NULL DEFAULT ''
);
`

// Open opens (creating if needed) the database at path.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// busy_timeout lets the CLI read while a server writes; WAL keeps readers
	// from blocking the writer.
	// _txlock=immediate: a transaction takes the write lock when it begins,
	// so two processes extending the audit chain cannot both read the same
	// head (chain.go).
	dsn := "file:" + path + "?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if _, err := db.Exec(schema + usedTokensSchema + approvalsSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: init %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	st := &Store{db: db, dataDir: abs}
	if err := st.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", path, err)
	}
	return st, nil
}

// DataDir returns the absolute directory holding the database, against
// which recording paths are resolved.
func (s *Store) DataDir() string { return s.dataDir }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks the database is reachable (health endpoint, start-up).
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }
