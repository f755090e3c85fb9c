package shipping

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bastion-ssh/bastion/internal/s3test"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// waitFor is how long a test waits for an observable condition.
const waitFor = 30 * time.Second

// env is a recording directory, a real S3 server with a bucket, a real
// store for audit events, and a shipper between them.
type env struct {
	t      *testing.T
	dir    string
	s3     *s3test.Server
	bucket *Bucket
	store  *store.Store
	reg    *prometheus.Registry
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := s3test.Start(t)
	name := srv.Bucket("recordings")
	b, err := OpenBucket(BucketConfig{Endpoint: srv.Addr, Bucket: name, Region: s3test.Region,
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Prefix: "node-a/", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	st, err := store.Open(filepath.Join(dataDir, "bastion.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &env{t: t, dir: filepath.Join(dataDir, "recordings"), s3: srv, bucket: b, store: st}
}

// start runs a new shipper (as a bastion start would: Recover, then Run)
// and returns it with a function that stops it and waits.
func (e *env) start(audit Auditor) (*Shipper, func()) {
	e.t.Helper()
	return e.startBackoff(audit, 10*time.Millisecond, 200*time.Millisecond)
}

// startBackoff is start with the given backoff bounds.
func (e *env) startBackoff(audit Auditor, minBackoff, maxBackoff time.Duration) (*Shipper, func()) {
	e.t.Helper()
	e.reg = prometheus.NewRegistry()
	s, err := New(Config{Bucket: e.bucket, Dir: e.dir, Audit: audit, Registerer: e.reg,
		MinBackoff: minBackoff, MaxBackoff: maxBackoff, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := s.Recover(); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	stop := sync.OnceFunc(func() {
		cancel()
		wg.Wait()
		if err := s.Close(); err != nil {
			e.t.Error(err)
		}
	})
	e.t.Cleanup(stop)
	return s, stop
}

// record writes a signed recording for session id with a checkpoint
// after the first line, telling s (if not nil) of the checkpoint, and
// returns the writer still open.
func (e *env) record(s *Shipper, id string) (*recorder.Writer, string) {
	e.t.Helper()
	path := filepath.Join(e.dir, "2026", "11", "30", id+".cast")
	opts := recorder.Options{Signer: testKey, CheckpointEvery: time.Hour}
	if s != nil {
		opts.Checkpointed = s.Checkpointed
	}
	w, err := recorder.Create(path, recorder.Header{Session: recorder.Meta{SessionID: id, Identity: "alice", Target: "db-1", Login: "postgres", Kind: recorder.KindShell}}, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, line := range []string{"$ psql\r\n", "name | mrn\r\n"} {
		if err := w.Output([]byte(line)); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := w.Checkpoint(); err != nil {
		e.t.Fatal(err)
	}
	if err := w.Output([]byte("(1 row)\r\n")); err != nil {
		e.t.Fatal(err)
	}
	return w, path
}

// closeRecording closes w and tells s.
func closeRecording(t *testing.T, s *Shipper, w *recorder.Writer, path string) {
	t.Helper()
	if _, err := w.Close(recorder.ExitInfo{}); err != nil {
		t.Fatal(err)
	}
	if s != nil {
		s.Closed(path)
	}
}

// eventually polls cond until it holds or waitFor passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", waitFor, what)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

// localFiles lists the files left in the recording directory, but for
// the shipper's lock.
func (e *env) localFiles() []string {
	var out []string
	filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && d.Name() != lockName {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// fetchAndVerify copies id's recording back from the bucket and verifies
// it with the signing key.
func (e *env) fetchAndVerify(id string) (recorder.VerifyResult, error) {
	e.t.Helper()
	cast, err := e.bucket.Fetch(context.Background(), "2026/11/30/"+id+".cast", e.t.TempDir())
	if err != nil {
		e.t.Fatalf("fetch %s: %v", id, err)
	}
	return recorder.Verify(cast, testKey.Public().(ed25519.PublicKey))
}

// events returns the audit events of type typ.
func (e *env) events(typ string) []store.Event {
	e.t.Helper()
	evs, err := e.store.Events(context.Background(), store.EventFilter{Type: typ})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// metric returns the value of a counter or gauge without labels, or with
// the one label value given.
func (e *env) metric(name string, label ...string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(label) > 0 && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label[0]) {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	e.t.Fatalf("no metric %s %v", name, label)
	return 0
}

func exist(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// failingAuditor is an audit trail that cannot be written (a stand-in for
// a full or unreachable database).
type failingAuditor struct{}

func (failingAuditor) Audit(context.Context, store.Event) error {
	return errors.New("database is locked")
}
