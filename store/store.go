package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/jackc/pgx/v5"
	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// Store is the session and audit store, on SQLite (the default) or
// PostgreSQL (several bastions sharing one database). Safe for concurrent
// use.
type Store struct {
	db      handle
	pg      *pgx.ConnConfig // PostgreSQL only: for the change feed's own connection (changes.go)
	dataDir string          // absolute directory against which recording paths are stored relative
	auditMu sync.Mutex      // serialises this process's audit writes (see chain.go)
}

// Config chooses a backend and how to open it.
type Config struct {
	// SQLitePath is the SQLite database file, created when missing. Used
	// when PostgresDSN is empty.
	SQLitePath string
	// PostgresDSN, if set, selects PostgreSQL: a libpq connection string
	// or URL.
	PostgresDSN string
	// DataDir is the directory recording paths are stored relative to.
	// Empty means the SQLite database's directory; required with
	// PostgreSQL.
	DataDir string
	// NoMigrate opens without applying pending schema migrations or
	// starting the audit chain: for `bastion migrate --dry-run`, which
	// must not write.
	NoMigrate bool
}

// ErrNoDataDir is returned by Connect for PostgreSQL without a DataDir.
var ErrNoDataDir = errors.New("store: PostgreSQL needs a data directory for recording paths")

// Open opens (creating if needed) the SQLite database at path, migrated.
func Open(path string) (*Store, error) {
	// No caller context: opening is part of start-up, bounded by SQLite's
	// busy timeout.
	return Connect(context.Background(), Config{SQLitePath: path})
}

// Connect opens the store c describes, applies pending migrations and
// starts the audit chain (unless c.NoMigrate).
func Connect(ctx context.Context, c Config) (*Store, error) {
	var st *Store
	var err error
	if c.PostgresDSN != "" {
		st, err = connectPostgres(ctx, c)
	} else {
		st, err = openSQLite(ctx, c)
	}
	if err != nil || c.NoMigrate {
		return st, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if err := st.startChain(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func openSQLite(ctx context.Context, c Config) (*Store, error) {
	path := c.SQLitePath
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// busy_timeout lets the CLI read while a server writes; WAL keeps readers
	// from blocking the writer.
	// _txlock=immediate: a transaction takes the write lock when it begins,
	// so two processes extending the audit chain cannot both read the same
	// head (chain.go).
	dsn := "file:" + path + "?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate"
	sqlDB, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := sqlDB.PingContext(ctx); err != nil { // creates the file
		sqlDB.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	dir := c.DataDir
	if dir == "" {
		dir = filepath.Dir(path)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Store{db: handle{sqlDB, sqliteDialect}, dataDir: abs}, nil
}

// Backend names the database behind the store: BackendSQLite or
// BackendPostgres.
func (s *Store) Backend() string { return s.db.d.name }

// DataDir returns the absolute directory holding the database, against
// which recording paths are resolved.
func (s *Store) DataDir() string { return s.dataDir }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks the database is reachable (health endpoint, start-up).
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }
