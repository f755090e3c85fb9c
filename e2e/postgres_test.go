package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

// pgSigningKeys holds, by database, the directory of its nodes' signing key.
var pgSigningKeys sync.Map

// pgNode starts a bastion node, with its own sshd target and keys, whose
// store is the PostgreSQL database dsn. Each node has its own name (a
// second process under a name that beats is refused at start).
func pgNode(t *testing.T, dsn, policy string) *gateway {
	t.Helper()
	dir := pgNodeDir(t, dsn)
	return newGatewayWith(t, dir, "node: pg-"+filepath.Base(dir)+"\nstore:\n  postgres:\n    dsn_file: pg.dsn\n", policy)
}

// pgNodeDir makes a node's directory for the PostgreSQL database dsn: the
// file pg.dsn names it, and the signing key is the one every node on dsn
// shares (the nodes append to one session log).
func pgNodeDir(t *testing.T, dsn string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pg.dsn"), []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keyDir, _ := pgSigningKeys.LoadOrStore(dsn, t.TempDir())
	if _, err := os.Stat(filepath.Join(keyDir.(string), "signing_key")); err != nil {
		writeKey(t, filepath.Join(keyDir.(string), "signing_key"))
	}
	for _, f := range []string{"signing_key", "signing_key.pub"} {
		data, err := os.ReadFile(filepath.Join(keyDir.(string), f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Two nodes on one PostgreSQL: alice's command is held on node A, carol
// approves it through node B's approval desk, and node A runs it; node B
// lists the session node A ran.
func TestPostgresApprovalThroughAnotherNode(t *testing.T) {
	dsn := pgtest.Start(t).NewDatabase(t)
	a, b := pgNode(t, dsn, commandsPolicy), pgNode(t, dsn, commandsPolicy)
	aliceOnA := newClient(t, a.userCA, certauth.UserRequest{Identity: "alice@example.com", Login: "root", Groups: []string{"ops"}, TTL: time.Hour})
	carolOnB := newClient(t, b.userCA, certauth.UserRequest{Identity: "carol@example.com", Login: "root", Groups: []string{"security"}, TTL: time.Hour})

	file := filepath.Join(t.TempDir(), "approved")
	w := (&reviewGateway{gateway: a}).startHeld(t, aliceOnA, nil, "touch "+file+" && echo done")
	if _, err := os.Stat(file); err == nil {
		t.Fatal("the held command ran before approval")
	}
	if r := b.ssh(t, carolOnB, "bastion-approvals", "approve", w.id, "--reason", "checked-on-B"); r.code != 0 {
		t.Fatalf("approve on node B: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	if code := w.wait(t); code != 0 || w.stdout.String() != "done\n" {
		t.Fatalf("on node A: exit %d, stdout %q, stderr %q", code, w.stdout.String(), w.stderr.String())
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("the approved command did not run: %v", err)
	}
	if !strings.Contains(w.stderr.String(), "bastion: approved: request="+w.id+" by carol@example.com") {
		t.Errorf("stderr on node A: %q", w.stderr.String())
	}
	var sessions []sessionRow
	if r := runCmd(t, bastionBin, "sessions", "list", "--json", "--config", b.config); r.code != 0 ||
		json.Unmarshal([]byte(r.stdout), &sessions) != nil {
		t.Fatalf("sessions list on node B: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	var found bool
	for _, s := range sessions {
		found = found || strings.Contains(s.Command, "touch "+file)
	}
	if !found {
		t.Errorf("node B does not list node A's session: %+v", sessions)
	}
	// One audit chain for both nodes, and it verifies from node B, its
	// checkpoints included. (Node A's recording is on node A's disk, so
	// verify --all on node B reports it: recordings are not shared here.)
	r := runCmd(t, bastionBin, "verify", "--all", "--json", "--config", b.config)
	var rep struct {
		Audit struct {
			Chained, Checkpoints int
			Problems             []string
		} `json:"audit"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("verify --all on node B: %v: %s%s", err, r.stdout, r.stderr)
	}
	if len(rep.Audit.Problems) != 0 || rep.Audit.Chained < 10 || rep.Audit.Checkpoints < 1 {
		t.Errorf("the shared audit chain, verified on node B: %+v", rep.Audit)
	}
}

// Sessions running at once on two nodes leave one audit trail: every
// session is listed from either node, and the shared chain verifies.
func TestPostgresConcurrentSessionsOnTwoNodes(t *testing.T) {
	dsn := pgtest.Start(t).NewDatabase(t)
	nodes := []*gateway{pgNode(t, dsn, testPolicy), pgNode(t, dsn, testPolicy)}
	const perNode = 4
	results := make(chan result, 2*perNode)
	for n, g := range nodes {
		for i := range perNode {
			// Not g.ssh: its failures end the test, which only the test's
			// own goroutine may do.
			args := append(g.sshOpts(g.alice), "-p", fmt.Sprint(g.port), "root@target@127.0.0.1",
				fmt.Sprintf("echo node-%d-session-%d", n, i))
			go func() {
				var out, errb strings.Builder
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // as runCmd
				defer cancel()
				cmd := exec.CommandContext(ctx, "ssh", args...)
				cmd.Stdout, cmd.Stderr = &out, &errb
				code := 0
				if err := cmd.Run(); err != nil {
					code = -1
					if ee, ok := err.(*exec.ExitError); ok {
						code = ee.ExitCode()
					}
				}
				results <- result{stdout: out.String(), stderr: errb.String(), code: code}
			}()
		}
	}
	for range 2 * perNode {
		if r := <-results; r.code != 0 || !strings.Contains(r.stdout, "-session-") {
			t.Errorf("session: exit %d %q %q", r.code, r.stdout, r.stderr)
		}
	}
	for _, g := range nodes {
		var sessions []sessionRow
		if r := runCmd(t, bastionBin, "sessions", "list", "--json", "--config", g.config); r.code != 0 ||
			json.Unmarshal([]byte(r.stdout), &sessions) != nil || len(sessions) != 2*perNode {
			t.Errorf("sessions list from %s: %d sessions, exit %d %s", g.config, len(sessions), r.code, r.stderr)
		}
		r := runCmd(t, bastionBin, "verify", "--all", "--json", "--config", g.config)
		var rep struct {
			Audit struct {
				Chained  int
				Problems []string
			} `json:"audit"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("verify --all: %v: %s%s", err, r.stdout, r.stderr)
		}
		// Each session writes several events (start, end, ...) on top of
		// both nodes' start events.
		if len(rep.Audit.Problems) != 0 || rep.Audit.Chained < 2*perNode*2 {
			t.Errorf("the shared audit chain from %s: %+v", g.config, rep.Audit)
		}
	}
}
