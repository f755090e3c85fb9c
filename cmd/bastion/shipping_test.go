package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/evidence"

	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/internal/s3test"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/shipping"
)

// shippedData is a data directory whose config ships recordings to a real
// S3 server.
type shippedData struct {
	*testData
	s3     *s3test.Server
	bucket *shipping.Bucket
	config string // config file naming the data directory and the bucket
	pub    string // the signing public key file
}

func newShippedData(t *testing.T) *shippedData {
	t.Helper()
	d := &shippedData{testData: newTestData(t), s3: s3test.Start(t)}
	d.s3.Bucket("recordings")
	write := func(name, data string) string {
		p := filepath.Join(d.dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("s3_access", s3test.AccessKey+"\n")
	write("s3_secret", s3test.SecretKey+"\n")
	sshPub, err := ssh.NewPublicKey(d.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	d.pub = write("signing_key.pub", string(ssh.MarshalAuthorizedKey(sshPub)))
	d.config = write("config.yaml", `listen: 127.0.0.1:2222
data_dir: `+d.dir+`
host_key: host_key
user_ca_key: user_ca
signing_key: signing_key
policy: policy.yaml
recording:
  s3:
    endpoint: `+d.s3.Addr+`
    bucket: recordings
    region: `+s3test.Region+`
    access_key_file: s3_access
    secret_key_file: s3_secret
    prefix: node-a/
    insecure: true
`)
	cfg, err := config.Load(d.config)
	if err != nil {
		t.Fatal(err)
	}
	if d.bucket, err = openBucket(cfg); err != nil {
		t.Fatal(err)
	}
	return d
}

// ship ships the closed recordings of the sessions named, as a running
// bastion would, and waits until their local copies are gone.
func (d *shippedData) ship(t *testing.T, ids ...string) {
	t.Helper()
	sh, err := shipping.New(shipping.Config{Bucket: d.bucket, Dir: filepath.Join(d.dir, "recordings"), Audit: d.st,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { sh.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	for _, id := range ids {
		sh.Closed(d.rows[id].Recording)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range ids {
		for {
			if _, err := os.Stat(d.rows[id].Recording); os.IsNotExist(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not shipped: pending %q", id, sh.Pending())
			}
			time.Sleep(10 * time.Millisecond) // polling interval
		}
	}
}

func (d *shippedData) verifyAll(t *testing.T) *verifyReport {
	t.Helper()
	r, err := verifyAll(t.Context(), verifyInput{dataDir: d.dir, recordingsDir: filepath.Join(d.dir, "recordings"),
		pub: d.key.Public().(ed25519.PublicKey), source: &recordingSource{dir: filepath.Join(d.dir, "recordings"), bucket: d.bucket}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// verify --all reads shipped recordings from the bucket and names those
// not yet shipped; replay and verify of one session read the bucket when
// the local copy is gone.
func TestVerifyAndReplayFromBucket(t *testing.T) {
	d := newShippedData(t)
	d.session(t, "shipped", true)
	d.session(t, "waiting", true)
	d.session(t, "crashed", false)
	d.ship(t, "shipped")

	r := d.verifyAll(t)
	v := verdicts(r)
	if len(r.Problems) != 0 {
		t.Fatalf("problems: %q", r.Problems)
	}
	if s := v["shipped"]; s.Verdict != verdictVerified || s.Unshipped || !strings.Contains(s.Detail, "read from the bucket") {
		t.Errorf("shipped: %+v", s)
	}
	for _, id := range []string{"waiting", "crashed"} {
		if !v[id].Unshipped || !strings.Contains(v[id].Detail, "not yet shipped") {
			t.Errorf("%s: %+v", id, v[id])
		}
	}
	if notes := strings.Join(r.Notes, "\n"); !strings.Contains(notes, "2 recordings not yet shipped to bucket recordings") ||
		!strings.Contains(notes, "crashed, waiting") {
		t.Errorf("notes do not name the unshipped recordings: %q", r.Notes)
	}

	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"verify", "--config", d.config, "--key", d.pub, "shipped"}, &out, &errOut); err != nil {
		t.Fatalf("verify shipped: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "verified: 2 events") || !strings.Contains(errOut.String(), "copy in bucket recordings") {
		t.Errorf("verify shipped: %q %q", out.String(), errOut.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"replay", "--config", d.config, "--cat", "shipped"}, &out, &errOut); err != nil {
		t.Fatalf("replay shipped: %v", err)
	}
	if !strings.Contains(out.String(), "row-for-shipped") {
		t.Errorf("replay --cat from the bucket: %q", out.String())
	}
}

// Someone with write access to the bucket edits a shipped recording, or
// deletes it: verify --all names both, as it would on local disk.
func TestVerifyAllBucketTampering(t *testing.T) {
	d := newShippedData(t)
	d.session(t, "edited", true)
	d.session(t, "deleted", true)
	d.ship(t, "edited", "deleted")

	obj := filepath.Join(d.s3.Dir(), "recordings", "node-a", "edited.cast")
	data, err := os.ReadFile(obj)
	if err != nil {
		t.Fatalf("the object is not where versitygw keeps it: %v", err)
	}
	if err := os.WriteFile(obj, bytes.Replace(data, []byte("row-for-edited"), []byte("row-for-EDITED"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.s3.Client().RemoveObject(t.Context(), "recordings", "node-a/deleted.cast", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	v := verdicts(d.verifyAll(t))
	if s := v["edited"]; s.Verdict != verdictBad || !strings.Contains(s.Detail, "chain") {
		t.Errorf("edited in the bucket: %+v", s)
	}
	if s := v["deleted"]; s.Verdict != verdictBad || !strings.Contains(s.Detail, "not on disk, nor in bucket recordings") {
		t.Errorf("deleted from the bucket: %+v", s)
	}
}

// An evidence bundle holds shipped recordings, read from the bucket, and
// verifies offline.
func TestEvidenceExportFromBucket(t *testing.T) {
	d := newShippedData(t)
	d.session(t, "shipped", true)
	d.ship(t, "shipped")
	block, err := ssh.MarshalPrivateKey(d.key, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(d.dir, "signing_key")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "bundle.tar")
	var out bytes.Buffer
	if err := run(t.Context(), []string{"evidence", "export", "--config", d.config, "-o", bundle}, &out, &out); err != nil {
		t.Fatalf("export: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "session shipped") {
		t.Errorf("export notes a problem with the shipped session:\n%s", out.String())
	}
	f, err := os.Open(bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := evidence.Verify(f, d.key.Public().(ed25519.PublicKey))
	if err != nil || !res.OK() || res.Sessions != 1 {
		t.Fatalf("bundle: %v %+v", err, res)
	}
}

// The audit trail says which recordings the shipper removed: verify --all
// without the bucket points at it, and a recording whose local copy went
// without a recording.shipped event (someone deleted it after a
// checkpoint was uploaded) is named.
func TestVerifyAllShippedEvents(t *testing.T) {
	d := newShippedData(t)
	d.session(t, "shipped", true)
	d.session(t, "removed", false)
	d.ship(t, "shipped")
	// "removed" was uploaded at its checkpoint, then its files deleted
	// by hand.
	cast := d.rows["removed"].Recording
	for _, p := range []string{cast, recorder.CheckpointsPath(cast)} {
		if _, err := d.s3.Client().FPutObject(t.Context(), "recordings", "node-a/"+filepath.Base(p), p, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}

	v := verdicts(d.verifyAll(t))
	if s := v["removed"]; s.Verdict != verdictBad || !strings.Contains(s.Detail, "no recording.shipped audit event") {
		t.Errorf("removed by hand: %+v", s)
	}
	if s := v["shipped"]; s.Verdict != verdictVerified {
		t.Errorf("shipped: %+v", s)
	}

	local := verdicts(d.testData.verify(t)) // no config: local files only
	if s := local["shipped"]; s.Verdict != verdictBad || !strings.Contains(s.Detail, "was shipped to bucket recordings") ||
		!strings.Contains(s.Detail, "pass --config") {
		t.Errorf("shipped, verified without the bucket: %+v", s)
	}
}
