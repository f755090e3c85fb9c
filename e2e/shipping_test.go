package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/internal/s3test"
)

// A session through `bastion serve` with recording.s3 set: its recording
// reaches the bucket, verified, and only then leaves the node's disk;
// replay and verify read it from the bucket.
func TestRecordingShippedToBucket(t *testing.T) {
	s3 := s3test.Start(t)
	s3.Bucket("recordings")
	dir := t.TempDir()
	for name, v := range map[string]string{"s3_access": s3test.AccessKey, "s3_secret": s3test.SecretKey} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	g := newGatewayIn(t, dir, fmt.Sprintf(`recording:
  s3:
    endpoint: %s
    bucket: recordings
    region: %s
    access_key_file: s3_access
    secret_key_file: s3_secret
    prefix: node-a/
    insecure: true
`, s3.Addr, s3test.Region))

	if r := g.ssh(t, g.alice, "root@target", "echo shipped-$((6*7))"); r.code != 0 || r.stdout != "shipped-42\n" {
		t.Fatalf("exec: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	s := g.waitSession(t, func(s sessionRow) bool { return strings.HasPrefix(s.Command, "echo shipped") })
	g.waitAudit(t, "recording.shipped", s.ID)
	cast := s.Recording
	if !filepath.IsAbs(cast) {
		cast = filepath.Join(g.dir, cast)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range []string{cast, strings.TrimSuffix(cast, ".cast") + ".manifest.json"} {
		for _, err := os.Stat(p); err == nil; _, err = os.Stat(p) {
			if time.Now().After(deadline) {
				t.Fatalf("%s still on disk after its recording.shipped event", p)
			}
			time.Sleep(50 * time.Millisecond) // polling interval
		}
	}
	key := filepath.Join(s3.Dir(), "recordings", "node-a", filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(cast)))),
		filepath.Base(filepath.Dir(filepath.Dir(cast))), filepath.Base(filepath.Dir(cast)), s.ID+".cast")
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
