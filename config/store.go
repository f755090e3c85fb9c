package config

import (
	"fmt"
	"os"
	"strings"
)

// Store chooses where sessions, the audit trail, approvals, revocations
// and used login tokens are kept. The zero value is the embedded SQLite
// database, DATA_DIR/bastion.db.
type Store struct {
	// Postgres, when set, keeps them in PostgreSQL instead, so that
	// several bastions behind one load balancer share them.
	Postgres *Postgres `yaml:"postgres"`
}

// Postgres is a PostgreSQL database for the store.
type Postgres struct {
	// DSNFile is a file holding the connection string, a libpq URL
	// (postgres://user:password@host:5432/bastion?sslmode=verify-full) or
	// key=value list. It is a secret (it may carry the password): it must
	// not be readable by group or others. Required.
	DSNFile string `yaml:"dsn_file"`
}

func (c *Config) validateStore() error {
	p := c.Store.Postgres
	if p == nil {
		return nil
	}
	if p.DSNFile == "" {
		return invalid("store.postgres.dsn_file", "missing (a file holding the PostgreSQL connection string)")
	}
	return nil
}

// PostgresDSN reads the connection string from store.postgres.dsn_file;
// "" when the store is SQLite. The file's permissions are checked with the
// other secret files (CheckSecretFiles).
func (c *Config) PostgresDSN() (string, error) {
	p := c.Store.Postgres
	if p == nil {
		return "", nil
	}
	b, err := os.ReadFile(p.DSNFile)
	if err != nil {
		return "", fmt.Errorf("config: store.postgres.dsn_file: %w", err)
	}
	dsn := strings.TrimSpace(string(b))
	if dsn == "" {
		return "", fmt.Errorf("config: store.postgres.dsn_file: %s is empty", p.DSNFile)
	}
	return dsn, nil
}
