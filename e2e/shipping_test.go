package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/internal/s3test"
	"github.com/bastion-ssh/bastion/recorder"
)

// newShippingGateway starts a gateway whose recordings go to a bucket on
// a real S3 server, with extra config (e.g. diagnostics) appended.
func newShippingGateway(t *testing.T, extra string) (*gateway, *s3test.Server) {
	t.Helper()
	s3 := s3test.Start(t)
	s3.Bucket("recordings")
	dir := t.TempDir()
	for name, v := range map[string]string{"s3_access": s3test.AccessKey, "s3_secret": s3test.SecretKey} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return newGatewayIn(t, dir, fmt.Sprintf(`recording:
  s3:
    endpoint: %s
    bucket: recordings
    region: %s
    access_key_file: s3_access
    secret_key_file: s3_secret
    prefix: node-a/
    insecure: true
%s`, s3.Addr, s3test.Region, extra)), s3
}

// castPath is where a session's recording is on the node's disk.
func (g *gateway) castPath(s sessionRow) string {
	if filepath.IsAbs(s.Recording) {
		return s.Recording
	}
	return filepath.Join(g.dir, s.Recording)
}

// waitGone polls until none of paths exists.
func waitGone(t *testing.T, within time.Duration, paths ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, p := range paths {
		for _, err := os.Stat(p); err == nil; _, err = os.Stat(p) {
			if time.Now().After(deadline) {
				t.Fatalf("%s still on disk after %v", p, within)
			}
			time.Sleep(50 * time.Millisecond) // polling interval
		}
	}
}

// A session through `bastion serve` with recording.s3 set: its recording
// reaches the bucket, verified, and only then leaves the node's disk;
// replay and verify read it from the bucket.
func TestRecordingShippedToBucket(t *testing.T) {
	g, s3 := newShippingGateway(t, "")
	if r := g.ssh(t, g.alice, "root@target", "echo shipped-$((6*7))"); r.code != 0 || r.stdout != "shipped-42\n" {
		t.Fatalf("exec: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	s := g.waitSession(t, func(s sessionRow) bool { return strings.HasPrefix(s.Command, "echo shipped") })
	g.waitAudit(t, "recording.shipped", s.ID)
	cast := g.castPath(s)
	waitGone(t, 30*time.Second, cast, strings.TrimSuffix(cast, ".cast")+".manifest.json")
	day, _ := filepath.Rel(filepath.Join(g.dir, "recordings"), filepath.Dir(cast))
	key := filepath.Join(s3.Dir(), "recordings", "node-a", day, s.ID+".cast")
	if data, err := os.ReadFile(key); err != nil || !strings.Contains(string(data), "shipped-42") {
		t.Fatalf("object %s: %v %q", key, err, data)
	}

	if out := g.cli(t, "replay", "--cat", "--config", g.config, s.ID); !strings.Contains(out, "shipped-42") {
		t.Errorf("replay from the bucket: %q", out)
	}
	if out := g.cli(t, "verify", "--config", g.config, s.ID); !strings.Contains(out, "verified:") {
		t.Errorf("verify from the bucket: %q", out)
	}
	g.stop()
	out := g.cli(t, "verify", "--all", "--config", g.config)
	if !strings.Contains(out, s.ID+"  verified") || !strings.Contains(out, "read from the bucket") {
		t.Errorf("verify --all:\n%s", out)
	}
}

// The bucket goes down: sessions go on, recorded locally; the failure is
// audited and the backlog shows in /metrics; verify --all names the
// recording not yet shipped. The bucket comes back: the recording is
// shipped and only then removed from the disk.
func TestBucketOutageSessionsContinue(t *testing.T) {
	port := freePort(t)
	g, s3 := newShippingGateway(t, fmt.Sprintf("diagnostics:\n  listen: 127.0.0.1:%d\n", port))
	s3.Stop()

	if r := g.ssh(t, g.alice, "root@target", "echo during-outage"); r.code != 0 || r.stdout != "during-outage\n" {
		t.Fatalf("exec while the bucket is down: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	s := g.waitSession(t, func(s sessionRow) bool { return s.Command == "echo during-outage" })
	if e := g.waitAudit(t, "recording.ship_failed", s.ID); e.Outcome != "error" || e.Reason != "upload" {
		t.Errorf("ship failure event: %+v", e)
	}
	m := getMetrics(t, port)
	if got := grepLines(m, "bastion_recordings_unshipped "); got != "bastion_recordings_unshipped 1" {
		t.Errorf("backlog gauge: %q", got)
	}
	if got := grepLines(m, "bastion_recording_ship_failures_total "); got == "" || got == "bastion_recording_ship_failures_total 0" {
		t.Errorf("failure counter: %q", got)
	}
	cast := g.castPath(s)
	for _, p := range []string{cast, strings.TrimSuffix(cast, ".cast") + ".manifest.json"} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("local copy touched while the bucket is down: %v", err)
		}
	}
	if out := g.cli(t, "verify", "--all", "--config", g.config); !strings.Contains(out, "not yet shipped to bucket recordings") ||
		!strings.Contains(out, s.ID) {
		t.Errorf("verify --all does not name the unshipped recording:\n%s", out)
	}

	s3.Start()
	// The next attempt comes after its backoff (doubling from 1s while the
	// bucket was down), so this waits longer than the usual 30s.
	waitGone(t, 5*time.Minute, cast, strings.TrimSuffix(cast, ".cast")+".manifest.json")
	g.waitAudit(t, "recording.shipped", s.ID)
	if out := g.cli(t, "verify", "--config", g.config, s.ID); !strings.Contains(out, "verified:") {
		t.Errorf("verify from the bucket: %q", out)
	}
}

// A bastion killed mid-session (SIGKILL: no close, no manifest) has
// already shipped the session up to its last checkpoint, which verifies
// from the bucket alone.
func TestKilledMidSessionInBucket(t *testing.T) {
	g, s3 := newShippingGateway(t, "")
	ssh := exec.Command("ssh", append(append(g.sshOpts(g.alice), "-p", fmt.Sprint(g.port), "root@target@127.0.0.1"),
		"echo started-$((6*7)); sleep 300")...)
	if err := ssh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ssh.Process.Kill(); ssh.Wait() })
	var s sessionRow
	for deadline := time.Now().Add(30 * time.Second); s.ID == ""; {
		for _, row := range g.sessions(t) {
			if strings.HasPrefix(row.Command, "echo started") {
				s = row
			}
		}
		if s.ID == "" && time.Now().After(deadline) {
			t.Fatal("the session did not start")
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
	day, _ := filepath.Rel(filepath.Join(g.dir, "recordings"), filepath.Dir(g.castPath(s)))
	objects := filepath.Join(s3.Dir(), "recordings", "node-a", day)
	// The first checkpoint comes after recorder.DefaultCheckpointEvery.
	deadline := time.Now().Add(recorder.DefaultCheckpointEvery + 60*time.Second)
	for {
		if _, err := os.Stat(filepath.Join(objects, s.ID+".checkpoints")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of %s in the bucket", s.ID)
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
	if err := g.proc.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	g.stop()

	copyDir := t.TempDir()
	for _, name := range []string{s.ID + ".cast", s.ID + ".checkpoints"} {
		if r := runCmd(t, "cp", filepath.Join(objects, name), copyDir); r.code != 0 {
			t.Fatalf("cp %s: %s", name, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(objects, s.ID+".manifest.json")); err == nil {
		t.Fatal("a manifest for a session that never closed")
	}
	r := runCmd(t, bastionBin, "verify", "--key", filepath.Join(g.dir, "signing_key.pub"), filepath.Join(copyDir, s.ID+".cast"))
	if !strings.Contains(r.stdout, "incomplete: verified up to event") || strings.Contains(r.stdout, "up to event 0 ") {
		t.Fatalf("bucket copy: exit %d %s%s; want incomplete, verified up to a checkpoint", r.code, r.stdout, r.stderr)
	}
	data, _ := os.ReadFile(filepath.Join(copyDir, s.ID+".cast"))
	if !strings.Contains(string(data), "started-42") {
		t.Errorf("the bucket copy lacks the output before the checkpoint: %q", data)
	}

	// Started again on the same data directory, the bastion ships the
	// rest of the cut-off recording and removes it from the disk.
	again := exec.Command(bastionBin, "serve", "--config", g.config)
	again.Stderr = g.stderr
	if err := again.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { again.Process.Signal(os.Interrupt); again.Wait() })
	g.waitAudit(t, "recording.shipped", s.ID)
	waitGone(t, 30*time.Second, g.castPath(s))
	r = runCmd(t, bastionBin, "verify", "--config", g.config, s.ID)
	if !strings.Contains(r.stdout, "incomplete: verified up to event") || !strings.Contains(r.stderr, "copy in bucket recordings") {
		t.Errorf("verify after the restart: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
}
