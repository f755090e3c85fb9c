package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bastion-ssh/bastion/internal/pgtest"
	"github.com/bastion-ssh/bastion/store"
)

// migrate --dry-run lists what is pending and changes nothing; migrate
// applies it; then nothing is pending. On SQLite (--data) and on
// PostgreSQL (--config with store.postgres).
func TestMigrateCommand(t *testing.T) {
	sqliteDir := t.TempDir()
	empty, err := store.Connect(t.Context(), store.Config{SQLitePath: dbPath(sqliteDir), NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	all, err := empty.PendingMigrations(t.Context())
	empty.Close()
	if err != nil {
		t.Fatal(err)
	}
	versions := strconv.Itoa(len(all)) // every version, on a new database

	pgDir := t.TempDir()
	dsnFile := filepath.Join(pgDir, "pg.dsn")
	os.WriteFile(dsnFile, []byte(pgtest.Start(t).NewDatabase(t)+"\n"), 0o600)
	cfgFile := filepath.Join(pgDir, "config.yaml")
	os.WriteFile(cfgFile, []byte("listen: 127.0.0.1:2222\ndata_dir: data\nhost_key: host_key\nsigning_key: signing_key\n"+
		"user_ca_key: user_ca\npolicy: policy.yaml\nstore:\n  postgres:\n    dsn_file: pg.dsn\n"), 0o600)

	for _, c := range []struct {
		name    string
		where   []string
		backend string
	}{
		{"sqlite", []string{"--data", sqliteDir}, store.BackendSQLite},
		{"postgres", []string{"--config", cfgFile}, store.BackendPostgres},
	} {
		t.Run(c.name, func(t *testing.T) {
			migrate := func(args ...string) string {
				t.Helper()
				var out bytes.Buffer
				if err := cmdMigrate(t.Context(), append(args, c.where...), &out, &out); err != nil {
					t.Fatalf("migrate %v: %v\n%s", args, err, out.String())
				}
				return out.String()
			}
			for range 2 { // a dry run changes nothing
				if out := migrate("--dry-run"); !strings.Contains(out, c.backend+" store: "+versions+" migrations pending") ||
					!strings.Contains(out, "1  sessions, audit events and revocations") {
					t.Fatalf("dry run:\n%s", out)
				}
			}
			if out := migrate(); !strings.Contains(out, versions+" migrations applied") {
				t.Fatalf("migrate:\n%s", out)
			}
			if out := migrate("--dry-run"); !strings.Contains(out, "schema up to date") {
				t.Fatalf("after migrating:\n%s", out)
			}
		})
	}
}
