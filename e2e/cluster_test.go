package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/internal/pgtest"
	"github.com/bastion-ssh/bastion/internal/s3test"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// cluster is two `bastion serve` nodes as one service: one PostgreSQL
// database, one bucket and prefix for recordings, and copies of the same
// keys (host key, user and target CAs, signing key), as the README's
// "Behind a load balancer" sets them up. Each node has its own data
// directory and its own sshd as the target "target".
type cluster struct {
	a, b *gateway
	s3   *s3test.Server
}

// clusterCAs are the key files every node of a cluster holds a copy of.
var clusterCAs = []string{"host_key", "user_ca", "target_ca", "signing_key"}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	dsn := pgtest.Start(t).NewDatabase(t)
	s3 := s3test.Start(t)
	s3.Bucket("recordings")
	keys := t.TempDir()
	for _, name := range clusterCAs {
		writeKey(t, filepath.Join(keys, name))
	}
	node := func(name string) *gateway {
		dir := t.TempDir()
		for _, name := range clusterCAs {
			for _, f := range []string{name, name + ".pub"} {
				data, err := os.ReadFile(filepath.Join(keys, f))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		for f, v := range map[string]string{"pg.dsn": dsn, "s3_access": s3test.AccessKey, "s3_secret": s3test.SecretKey} {
			if err := os.WriteFile(filepath.Join(dir, f), []byte(v+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		// The sweep's own check is set to an hour: only the change feed
		// can carry a revocation from one node to the other in time. A
		// node silent for 3 s is dead (each beats every 0.5 s).
		return newGatewayOpts(t, dir, bastionOptions{policy: commandsPolicy, limits: "  certificate_check: 1h\n  node_stale_after: 3s\n",
			extra: fmt.Sprintf(`node: %s
store:
  postgres:
    dsn_file: pg.dsn
recording:
  s3:
    endpoint: %s
    bucket: recordings
    region: %s
    access_key_file: s3_access
    secret_key_file: s3_secret
    prefix: cluster/
    insecure: true
`, name, s3.Addr, s3test.Region)})
	}
	return &cluster{a: node("node-a"), b: node("node-b"), s3: s3}
}

// run runs a bastion subcommand against node g's config (its database
// and bucket) and returns the result, whatever its exit status.
func (g *gateway) run(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, bastionBin, append(args, "--config", g.config)...)
}

// sessionsOn lists the sessions as node g sees them.
func (g *gateway) sessionsOn(t *testing.T) []sessionRow {
	t.Helper()
	var rows []sessionRow
	r := g.run(t, "sessions", "list", "--json")
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rows) != nil {
		t.Fatalf("sessions list: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	return rows
}

// auditVerdict is the audit part of `verify --all --json` on node g.
type auditVerdict struct {
	Chained, Checkpoints int
	Problems             []string
}

func (g *gateway) verifyAudit(t *testing.T) auditVerdict {
	t.Helper()
	r := g.run(t, "verify", "--all", "--json")
	var rep struct {
		Audit auditVerdict `json:"audit"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("verify --all: %v: %s%s", err, r.stdout, r.stderr)
	}
	return rep.Audit
}

// running is an ssh session left running in the background.
type running struct {
	cmd  *exec.Cmd
	out  syncBuffer
	done chan error
}

// startRunning runs command as c on g's target and returns once its
// output contains marker.
func (g *gateway) startRunning(t *testing.T, c client, command, marker string) *running {
	t.Helper()
	r := &running{cmd: exec.Command("ssh", append(g.sshOpts(c), "-p", fmt.Sprint(g.port), "root@target@127.0.0.1", command)...),
		done: make(chan error, 1)}
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() { r.cmd.Process.Kill() })
	waitFor(t, "the session's output "+marker, func() bool { return strings.Contains(r.out.String(), marker) })
	return r
}

// Two nodes as one service, driven with the stock ssh client: what one
// node decides reaches the other, both nodes' sessions are in one list and
// one audit chain, and a node killed mid-session loses nothing the bucket
// had from its last checkpoint while the other node keeps serving.
func TestClusterTwoNodes(t *testing.T) {
	c := newCluster(t)
	mk := func(id string, groups ...string) client {
		return newClient(t, c.a.userCA, certauth.UserRequest{Identity: id, Login: "root", Groups: groups, TTL: time.Hour})
	}
	alice, carol, erin := mk("alice@example.com", "ops"), mk("carol@example.com", "security"), mk("erin@example.com", "ops")

	t.Run("held on A, approved through B's desk, released on A", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "approved")
		w := (&reviewGateway{gateway: c.a}).startHeld(t, alice, nil, "touch "+file+" && echo released")
		if _, err := os.Stat(file); err == nil {
			t.Fatal("the held command ran before approval")
		}
		if r := c.b.ssh(t, carol, "bastion-approvals", "approve", w.id, "--reason", "checked-on-b"); r.code != 0 {
			t.Fatalf("approve on node B: exit %d %s%s", r.code, r.stdout, r.stderr)
		}
		if code := w.wait(t); code != 0 || w.stdout.String() != "released\n" {
			t.Fatalf("on node A: exit %d, stdout %q, stderr %q", code, w.stdout.String(), w.stderr.String())
		}
		if _, err := os.Stat(file); err != nil {
			t.Errorf("the approved command did not run on A's target: %v", err)
		}
		if !strings.Contains(w.stderr.String(), "bastion: approved: request="+w.id+" by carol@example.com") {
			t.Errorf("stderr on node A: %q", w.stderr.String())
		}
	})

	t.Run("revoked on B, ended on A", func(t *testing.T) {
		s := c.a.startRunning(t, erin, "echo erin-running; sleep 300", "erin-running")
		revoked := time.Now()
		if r := c.b.run(t, "ca", "revoke", "--identity", "erin@example.com"); r.code != 0 {
			t.Fatalf("ca revoke on node B: exit %d %s%s", r.code, r.stdout, r.stderr)
		}
		// The change feed carries the revocation at once; the sweep alone
		// would wait an hour. Five seconds is the bound asked of a cluster.
		select {
		case err := <-s.done:
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 249 || !strings.Contains(s.out.String(), "certificate revoked") {
				t.Errorf("revoked session ended with %v: %s", err, s.out.String())
			}
			t.Logf("the session on A ended %v after the revocation on B", time.Since(revoked).Round(time.Millisecond))
		case <-time.After(time.Until(revoked.Add(5 * time.Second))):
			t.Fatal("the session on node A outlived its revocation on node B by 5s")
		}
	})

	t.Run("concurrent sessions on both nodes: one list, one audit chain", func(t *testing.T) {
		var wg sync.WaitGroup
		results := make(chan string, 8)
		for i := range 4 {
			for name, g := range map[string]*gateway{"a": c.a, "b": c.b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					want := fmt.Sprintf("conc-%s-%d", name, i)
					cmd := exec.Command("ssh", append(g.sshOpts(alice), "-p", fmt.Sprint(g.port), "root@target@127.0.0.1", "echo "+want)...)
					out, err := cmd.CombinedOutput()
					if err != nil || strings.TrimSpace(string(out)) != want {
						results <- fmt.Sprintf("%s: %v %q", want, err, out)
					}
				}()
			}
		}
		wg.Wait()
		close(results)
		for r := range results {
			t.Error(r)
		}
		for _, g := range []*gateway{c.a, c.b} {
			waitFor(t, "every concurrent session ended", func() bool {
				n := 0
				for _, s := range g.sessionsOn(t) {
					if strings.HasPrefix(s.Command, "echo conc-") && s.EndedAt != "" {
						n++
					}
				}
				return n == 8
			})
		}
		for name, g := range map[string]*gateway{"A": c.a, "B": c.b} {
			rows := g.sessionsOn(t)
			seen := map[string]bool{}
			for _, s := range rows {
				for _, node := range []string{"a", "b"} {
					if strings.HasPrefix(s.Command, "echo conc-"+node+"-") {
						seen[node] = true
						if s.Node != "node-"+node {
							t.Errorf("node %s lists %s's session %s as run on %q", name, "node-"+node, s.ID, s.Node)
						}
					}
				}
			}
			if !seen["a"] || !seen["b"] {
				t.Errorf("sessions list on node %s shows sessions of %v only: %+v", name, seen, rows)
			}
			if v := g.verifyAudit(t); len(v.Problems) != 0 || v.Chained < 20 {
				t.Errorf("the shared audit chain verified on node %s: %+v", name, v)
			}
		}
	})

	t.Run("one session log: verify --all on either node checks both nodes' sessions", func(t *testing.T) {
		// A head saved from node A, then the log grows through node B.
		head := c.a.run(t, "log", "head")
		saved := filepath.Join(t.TempDir(), "head-from-a")
		if head.code != 0 || os.WriteFile(saved, []byte(head.stdout), 0o600) != nil {
			t.Fatalf("log head on node A: exit %d %s%s", head.code, head.stdout, head.stderr)
		}
		if r := c.b.ssh(t, alice, "root@target", "echo after-the-head"); r.code != 0 {
			t.Fatalf("a session on node B: exit %d %s", r.code, r.stderr)
		}
		var ids []string
		for name, g := range map[string]*gateway{"A": c.a, "B": c.b} {
			var rep struct {
				Log struct {
					Shared   bool
					Records  int64
					Sessions int
					Heads    []string `json:"saved_heads"`
				} `json:"log"`
				Sessions []struct{ ID, Verdict, Detail string } `json:"sessions"`
				Problems []string                               `json:"problems"`
			}
			r := g.run(t, "verify", "--all", "--json", "--tree-head", saved)
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("verify --all on node %s: %v: %s%s", name, err, r.stdout, r.stderr)
			}
			if r.code != 0 || len(rep.Problems) != 0 || !rep.Log.Shared || rep.Log.Sessions < 10 || len(rep.Log.Heads) != 1 {
				t.Errorf("verify --all on node %s: exit %d, log %+v, problems %q", name, r.code, rep.Log, rep.Problems)
			}
			var here []string
			for _, s := range rep.Sessions {
				here = append(here, s.ID)
				if s.Verdict != "verified" {
					t.Errorf("verify --all on node %s: session %s %s: %s", name, s.ID, s.Verdict, s.Detail)
				}
			}
			if ids != nil && strings.Join(ids, " ") != strings.Join(here, " ") {
				t.Errorf("the nodes verified different sessions: %v and %v", ids, here)
			}
			ids = here
		}
	})

	t.Run("A killed mid-session: B serves, A's recording verifies from the bucket", func(t *testing.T) {
		s := c.a.startRunning(t, alice, "echo cut-$((6*7)); sleep 300", "cut-42")
		var row sessionRow
		waitFor(t, "the session's row", func() bool {
			for _, r := range c.b.sessionsOn(t) {
				if strings.HasPrefix(r.Command, "echo cut-") {
					row = r
				}
			}
			return row.ID != ""
		})
		// The row keeps the path relative to the data directory, so each
		// node lists it under its own.
		day, _ := filepath.Rel(filepath.Join(c.b.dir, "recordings"), filepath.Dir(c.b.castPath(row)))
		// A checkpoint ships the recording, then its checkpoints: both
		// objects are there once the first checkpoint has shipped whole.
		objects := filepath.Join(c.s3.Dir(), "recordings", "cluster", day, row.ID)
		deadline := time.Now().Add(recorder.DefaultCheckpointEvery + 60*time.Second)
		for !exists(objects+".checkpoints") || !exists(objects+".cast") {
			if time.Now().After(deadline) {
				t.Fatalf("no checkpoint of %s in the bucket", row.ID)
			}
			time.Sleep(100 * time.Millisecond) // polling interval
		}
		if err := c.a.proc.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		c.a.stop()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Error("the client of the killed node did not notice")
		}

		killed := time.Now()
		if r := c.b.ssh(t, alice, "root@target", "echo still-$((6*7))"); r.code != 0 || r.stdout != "still-42\n" {
			t.Fatalf("node B after A died: exit %d %q %q", r.code, r.stdout, r.stderr)
		}
		// A stopped heartbeating: B ends its open session as incomplete,
		// in the list and in the audit trail, as alice's, once. No session
		// of A's was marked while A lived (the subtests above ran under
		// the same 3 s bound).
		waitFor(t, "node B to end A's session as incomplete", func() bool {
			var rows []struct {
				ID      string `json:"id"`
				Status  string `json:"status"`
				EndedBy string `json:"ended_by"`
			}
			if r := c.b.run(t, "sessions", "list", "--json"); json.Unmarshal([]byte(r.stdout), &rows) != nil {
				return false
			}
			for _, x := range rows {
				if x.ID == row.ID && x.Status == "incomplete" && x.EndedBy == "node-b" {
					return true
				}
			}
			return false
		})
		t.Logf("node B ended A's session as incomplete %v after the kill", time.Since(killed).Round(time.Millisecond))
		if r := c.b.run(t, "sessions", "list"); !regexp.MustCompile(`(?m)^` + row.ID + ` .* node-a .* incomplete +none `).MatchString(r.stdout) {
			t.Errorf("sessions list on node B:\n%s", r.stdout)
		}
		var marks []store.Event
		r := c.b.run(t, "audit", "--type", "session.incomplete", "--json")
		if err := json.Unmarshal([]byte(r.stdout), &marks); err != nil ||
			len(marks) != 1 || marks[0].SessionID != row.ID || marks[0].Identity != "alice@example.com" ||
			marks[0].Reason != "node-stopped-heartbeating" || marks[0].Detail["session_node"] != "node-a" || marks[0].Detail["node"] != "node-b" {
			t.Errorf("session.incomplete events on node B (want one, A's session, by B): %v %s%s", err, r.stdout, r.stderr)
		}
		// Node B reads A's recording from the bucket (A's disk is out of
		// reach) and verifies it up to the checkpoint A shipped.
		r = c.b.run(t, "verify", row.ID)
		if !strings.Contains(r.stdout, "incomplete: verified up to event") || strings.Contains(r.stdout, "up to event 0 ") ||
			!strings.Contains(r.stderr, "copy in bucket recordings") {
			t.Fatalf("verify on node B: exit %d %s%s; want incomplete, verified up to a checkpoint, from the bucket", r.code, r.stdout, r.stderr)
		}
		if r := c.b.run(t, "replay", "--cat", row.ID); r.code != 0 || !strings.Contains(r.stdout, "cut-42") {
			t.Errorf("replay on node B: exit %d %s%s", r.code, r.stdout, r.stderr)
		}
		var rep struct {
			Audit    auditVerdict `json:"audit"`
			Sessions []struct {
				ID, Verdict, Detail string
				Problems            []string
			} `json:"sessions"`
		}
		r = c.b.run(t, "verify", "--all", "--json")
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("verify --all on node B: %v: %s%s", err, r.stdout, r.stderr)
		}
		if len(rep.Audit.Problems) != 0 {
			t.Errorf("the audit chain after A was killed, verified on B: %+v", rep.Audit)
		}
		var found bool
		for _, s := range rep.Sessions {
			if s.ID == row.ID {
				found = true
				if s.Verdict != "incomplete" || len(s.Problems) != 0 || !strings.Contains(s.Detail, "run on node node-a") {
					t.Errorf("verify --all on node B judges A's cut-off session: %+v", s)
				}
			}
		}
		if !found {
			t.Errorf("verify --all on node B does not list A's cut-off session: %s", r.stdout)
		}
	})
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
