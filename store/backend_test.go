package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bastion-ssh/bastion/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

// backend opens stores on one database backend. A test given a backend
// runs unchanged on SQLite and on PostgreSQL (forEachBackend).
type backend struct {
	name string
	// fresh returns the connection settings of a new, empty database.
	fresh func(t *testing.T) Config
}

// open opens a migrated store on c, closed when the test ends.
func (b backend) open(t *testing.T, c Config) *Store {
	t.Helper()
	s, err := Connect(t.Context(), c)
	if err != nil {
		t.Fatalf("%s: %v", b.name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// new opens a store on a new database.
func (b backend) new(t *testing.T) *Store {
	t.Helper()
	return b.open(t, b.fresh(t))
}

var (
	sqliteBackend = backend{name: BackendSQLite, fresh: func(t *testing.T) Config {
		return Config{SQLitePath: filepath.Join(t.TempDir(), "bastion.db")}
	}}
	postgresBackend = backend{name: BackendPostgres, fresh: func(t *testing.T) Config {
		return Config{PostgresDSN: pgtest.Shared(t).NewDatabase(t), DataDir: t.TempDir()}
	}}
)

// forEachBackend runs fn as a subtest on each backend: the one store
// suite for both.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range []backend{sqliteBackend, postgresBackend} {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}
