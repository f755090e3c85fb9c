package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStorePostgres(t *testing.T) {
	dir := t.TempDir()
	c, err := Parse([]byte(valid+"store:\n  postgres:\n    dsn_file: pg.dsn\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Store.Postgres.DSNFile; got != filepath.Join(dir, "pg.dsn") {
		t.Errorf("dsn_file = %q, want it resolved against the config's directory", got)
	}
	if _, err := c.PostgresDSN(); err == nil || !strings.Contains(err.Error(), "store.postgres.dsn_file") {
		t.Errorf("missing file: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "pg.dsn"), []byte(" \n"), 0o600)
	if _, err := c.PostgresDSN(); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty file: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "pg.dsn"), []byte("postgres://bastion:pw@db:5432/bastion\n"), 0o600)
	os.Chmod(filepath.Join(dir, "pg.dsn"), 0o644)
	if dsn, err := c.PostgresDSN(); err != nil || dsn != "postgres://bastion:pw@db:5432/bastion" {
		t.Errorf("dsn = %q, %v", dsn, err)
	}
	// The file may carry a password: it is checked like a private key.
	var checked bool
	for _, f := range c.SecretFiles() {
		if f.Field == "store.postgres.dsn_file" {
			checked = true
			if err := checkPrivate(f); !errors.Is(err, ErrKeyPermissions) {
				t.Errorf("a world-readable dsn_file: %v", err)
			}
		}
	}
	if !checked {
		t.Error("dsn_file is not among the secret files")
	}

	_, err = Parse([]byte(valid+"store:\n  postgres: {}\n"), dir)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "store.postgres.dsn_file" {
		t.Errorf("postgres without dsn_file: %v", err)
	}
	if c, err := Parse([]byte(valid), dir); err != nil || c.Store.Postgres != nil {
		t.Errorf("default store: %+v, %v", c.Store, err)
	}
}
