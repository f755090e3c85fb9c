package store

import (
	"strings"
	"testing"
)

// The connection string may carry the password: no error shows it, for a
// malformed string or for a database that cannot be reached.
func TestPostgresErrorsHideThePassword(t *testing.T) {
	const secret = "s3cret-Passw0rd"
	for _, dsn := range []string{
		"postgres://bastion:" + secret + "@127.0.0.1:1/bastion?sslmode=disable&connect_timeout=5",
		"postgres://bastion:" + secret + "@127.0.0.1:notaport/bastion",
		"host=127.0.0.1 port=1 user=bastion password=" + secret + " sslmode=disable connect_timeout=5",
		"host=127.0.0.1 port=1 user=bastion password=" + secret + " sslmode=bogus",
	} {
		_, err := Connect(t.Context(), Config{PostgresDSN: dsn, DataDir: t.TempDir()})
		if err == nil {
			t.Fatalf("%q: connected", dsn)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	if _, err := Connect(t.Context(), Config{PostgresDSN: "postgres://127.0.0.1/x"}); err != ErrNoDataDir {
		t.Errorf("no data directory: %v", err)
	}
}
