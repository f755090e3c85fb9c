package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/internal/pgtest"
)

// A bastion whose store is PostgreSQL serves sessions as on SQLite, and a
// revocation written to the shared database by another process (as
// another node's `bastion ca revoke` would) ends a live session here. The
// sweep's own check is set to an hour, so only the store's change feed
// (LISTEN/NOTIFY) can have woken it.
func TestPostgresStoreRevocationFromAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pg.dsn"), []byte(pgtest.Start(t).NewDatabase(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := newGatewayOpts(t, dir, bastionOptions{policy: testPolicy, limits: "  certificate_check: 1h\n",
		extra: "store:\n  postgres:\n    dsn_file: pg.dsn\n"})
	if _, err := os.Stat(filepath.Join(dir, "bastion.db")); err == nil {
		t.Fatal("a SQLite database was created beside a PostgreSQL store")
	}
	if r := g.ssh(t, g.alice, "root@target", "echo on-postgres"); r.code != 0 || !strings.Contains(r.stdout, "on-postgres") {
		t.Fatalf("session: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	var sessions []sessionRow
	if r := runCmd(t, bastionBin, "sessions", "list", "--json", "--config", g.config); r.code != 0 ||
		json.Unmarshal([]byte(r.stdout), &sessions) != nil || len(sessions) != 1 {
		t.Fatalf("sessions list from PostgreSQL: exit %d %s%s", r.code, r.stdout, r.stderr)
	}

	// A session running on this node; the revocation comes from another
	// process on the shared database. The session must end well within
	// the hour the sweep would otherwise wait.
	carol := newClient(t, g.userCA, certauth.UserRequest{Identity: "carol@example.com", Groups: []string{"ops"}})
	cmd := exec.Command("ssh", append(g.sshOpts(carol), "-p", fmt.Sprint(g.port), "root@target@127.0.0.1", "echo running; sleep 300")...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "running") {
		if time.Now().After(deadline) {
			t.Fatalf("session did not start: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond) // polling the client's output
	}
	if r := runCmd(t, bastionBin, "ca", "revoke", "--identity", "carol@example.com", "--config", g.config); r.code != 0 {
		t.Fatalf("ca revoke: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	select {
	case err := <-done:
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 249 || !strings.Contains(out.String(), "certificate revoked") {
			t.Errorf("revoked session ended with %v: %s", err, out.String())
		}
	case <-time.After(60 * time.Second): // a bound against hanging: the sweep alone would wait an hour
		t.Fatal("the revoked identity's session kept running: the revocation did not reach this node")
	}
	// The ending's event is written as the session ends: poll for it.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := runCmd(t, bastionBin, "audit", "--json", "--type", "session.revoked", "--config", g.config)
		if r.code == 0 && strings.Contains(r.stdout, "carol@example.com") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session.revoked event for carol in PostgreSQL: %s%s", r.stdout, r.stderr)
		}
	}
}
