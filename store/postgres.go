package store

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// connectTimeout bounds each new connection to PostgreSQL when the
// connection string sets no connect_timeout: an unreachable database is a
// clear error at start, and a lost one fails requests instead of hanging
// them.
const connectTimeout = 10 * time.Second

// connectPostgres opens a PostgreSQL store through pgx's database/sql
// driver, so that every query is the same code as on SQLite (dialect.go
// holds the differences). Only the change listener (changes.go) uses a
// native pgx connection, which database/sql cannot offer: LISTEN needs one
// connection held for the listener alone.
func connectPostgres(ctx context.Context, c Config) (*Store, error) {
	if c.DataDir == "" {
		return nil, ErrNoDataDir
	}
	cfg, err := pgx.ParseConfig(c.PostgresDSN)
	if err != nil {
		// pgx's message shows the string with its password masked.
		return nil, fmt.Errorf("store: postgres connection string: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	sqlDB := stdlib.OpenDB(*cfg)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("store: postgres %s:%d/%s: %w", cfg.Host, cfg.Port, cfg.Database, err)
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Store{db: handle{sqlDB, postgresDialect}, pg: cfg, dataDir: abs}, nil
}
