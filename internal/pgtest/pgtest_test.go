package pgtest

import (
	"context"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A server started for a test serves a fresh database, runs as a user
// PostgreSQL accepts, and is gone, directory and all, when the test ends.
func TestServerLifecycle(t *testing.T) {
	var s *Server
	t.Run("serve", func(t *testing.T) {
		s = Start(t)
		ctx := t.Context()
		conn, err := pgx.Connect(ctx, s.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var one int
		if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("SELECT 1 = %d, %v", one, err)
		}
		if st, err := os.Stat(s.dir); err != nil || !st.IsDir() {
			t.Fatalf("data directory: %v", err)
		}
	})
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("data directory left behind: %v", err)
	}
	select {
	case <-s.exited:
	default:
		t.Error("postgres still running after the test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var d net.Dialer
	if c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))); err == nil {
		c.Close()
		t.Error("the server's port still accepts connections")
	}
}
