package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/internal/pgtest"
	"github.com/bastion-ssh/bastion/store"
)

// One bastion on SQLite, SIGKILLed mid-session and started again on the
// same data directory: before it serves anything, it ends the session its
// previous life left open as incomplete (one session.incomplete event, as
// the session's user), and verify still judges that session from its
// recording, as incomplete, with no problem.
func TestRestartEndsKilledSessionAsIncomplete(t *testing.T) {
	g := newGatewayIn(t, t.TempDir(), "node: solo\n")
	s := g.startRunning(t, g.alice, "echo cut-$((6*7)); sleep 300", "cut-42")
	var row sessionRow
	for _, r := range g.sessions(t) {
		if strings.HasPrefix(r.Command, "echo cut-") {
			row = r
		}
	}
	if row.ID == "" {
		t.Fatal("no row for the running session")
	}
	if err := g.proc.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	g.stop()
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the client of the killed bastion did not notice")
	}

	again := exec.Command(bastionBin, "serve", "--config", g.config)
	again.Stderr = g.stderr
	if err := again.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { again.Process.Signal(os.Interrupt); again.Wait() })
	waitPort(t, g.addr, again.Process)
	if r := g.ssh(t, g.alice, "root@target", "echo after-restart"); r.code != 0 || r.stdout != "after-restart\n" {
		t.Fatalf("after the restart: exit %d %q %q", r.code, r.stdout, r.stderr)
	}

	var rows []struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		EndedBy string `json:"ended_by"`
	}
	if err := json.Unmarshal([]byte(g.cli(t, "sessions", "list", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.ID == row.ID && (r.Status != "incomplete" || r.EndedBy != "solo") {
			t.Errorf("the killed session after the restart: %+v", r)
		}
	}
	var events []store.Event
	if err := json.Unmarshal([]byte(g.cli(t, "audit", "--json")), &events); err != nil {
		t.Fatal(err)
	}
	var marked, served int64
	for _, e := range events {
		switch {
		case e.Type == "session.incomplete":
			if marked != 0 || e.SessionID != row.ID || e.Identity != "alice@example.com" || e.Reason != "node-restarted" {
				t.Errorf("session.incomplete event: %+v", e)
			}
			marked = e.Seq
		case e.Type == "session.start" && served == 0 && e.Seq > marked && marked != 0:
			served = e.Seq
		}
	}
	if marked == 0 || served == 0 {
		t.Errorf("want the mark (seq %d) before the restarted bastion's first session (seq %d)", marked, served)
	}

	var rep struct {
		Sessions []struct {
			ID, Verdict, Detail string
			Problems            []string
		} `json:"sessions"`
	}
	r := runCmd(t, bastionBin, "verify", "--all", "--json", "--data", g.dir)
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("verify --all: %v: %s%s", err, r.stdout, r.stderr)
	}
	found := false
	for _, c := range rep.Sessions {
		if c.ID == row.ID {
			found = true
			if c.Verdict != "incomplete" || len(c.Problems) != 0 || !strings.Contains(c.Detail, "ended as incomplete by node solo (node-restarted)") {
				t.Errorf("verify --all judges the killed session: %+v", c)
			}
		}
	}
	if !found {
		t.Errorf("verify --all does not list the killed session: %s", r.stdout)
	}
}

// A node draining after SIGTERM still beats: the session the drain lets
// run until limits.drain_timeout (6 s) is live, and the other node, whose
// bound is 1 s, does not take it for a dead node's.
func TestDrainingNodeIsNotTakenForDead(t *testing.T) {
	dsn := pgtest.Start(t).NewDatabase(t)
	node := func(name string) *gateway {
		return newGatewayOpts(t, pgNodeDir(t, dsn), bastionOptions{policy: testPolicy, limits: "  drain_timeout: 6s\n  node_stale_after: 1s\n",
			extra: "node: " + name + "\nstore:\n  postgres:\n    dsn_file: pg.dsn\n"})
	}
	a, b := node("drain-a"), node("drain-b")
	s := a.startRunning(t, a.alice, "echo draining-$((6*7)); sleep 300", "draining-42")
	if err := a.proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 253 {
			t.Errorf("the drained session ended with %v: %s", err, s.out.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("the drain did not end the session")
	}
	a.stop()
	r := b.run(t, "audit", "--type", "session.incomplete", "--json")
	var marks []store.Event
	if err := json.Unmarshal([]byte(r.stdout), &marks); err != nil || len(marks) != 0 {
		t.Errorf("session.incomplete events while node A drained: %v %s%s", err, r.stdout, r.stderr)
	}
}
