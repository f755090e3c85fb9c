package shipping

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// Default backoff between attempts to ship a recording: doubling from
// DefaultMinBackoff up to DefaultMaxBackoff, so an outage of an hour costs
// a few dozen requests per recording and a bucket that comes back is used
// within five minutes.
const (
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
	// DefaultWorkers is how many recordings are shipped at once.
	DefaultWorkers = 4
)

// Auditor writes audit events; the store is one. Shipping removes a local
// file only after the event saying it was shipped is written.
type Auditor interface {
	Audit(ctx context.Context, e store.Event) error
}

// Config configures a Shipper. Bucket, Dir and Audit are required.
type Config struct {
	Bucket *Bucket
	// Dir is the local recording directory; object keys are paths
	// relative to it.
	Dir   string
	Audit Auditor
	// Registerer receives the shipper's metrics; nil: not registered.
	Registerer prometheus.Registerer
	// Logger; nil: slog.Default().
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between attempts; zero
	// means DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Workers ships this many recordings at once; zero: DefaultWorkers.
	Workers int
}

// A Shipper uploads recordings from Config.Dir to the bucket. Its methods
// are safe for concurrent use; Run does the work.
type Shipper struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	wake    chan struct{} // buffered(1): a job became due

	lock *os.File // held from Recover to Close

	mu   sync.Mutex
	jobs map[string]*job // by path relative to Dir, of the .cast file; guarded by mu
}

// job is the shipping work outstanding for one recording.
type job struct {
	final     bool      // the recording is closed: ship everything, then remove it locally
	busy      bool      // a worker has it
	again     bool      // more work arrived while busy
	attempts  int       // failed attempts in a row
	unreached bool      // the last attempt failed to reach the bucket
	due       time.Time // not before
	since     time.Time // when the oldest unshipped data was noted
}

// New returns a Shipper for cfg. Call Recover before recordings are
// opened, then Run.
func New(cfg Config) (*Shipper, error) {
	if cfg.Bucket == nil || cfg.Dir == "" || cfg.Audit == nil {
		return nil, errors.New("shipping: bucket, directory and auditor are required")
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	s := &Shipper{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1),
		jobs: map[string]*job{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.metrics = newMetrics(cfg.Registerer, s)
	return s, nil
}

// Recover takes the recording directory for this shipper alone (or
// returns ErrDirInUse), then queues every recording found in it as
// closed: at start no session is open, so each is either closed and not
// yet shipped, or was cut off by a crash and will never grow again. It
// must run once, before any recording is opened.
func (s *Shipper) Recover() error {
	if s.lock == nil {
		lock, err := lockDir(s.cfg.Dir)
		if err != nil {
			return err
		}
		s.lock = lock
	}
	var found []string
	err := filepath.WalkDir(s.cfg.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasPrefix(d.Name(), ".") {
			return nil // the lock, or a temporary file of an interrupted write
		}
		switch {
		case !d.Type().IsRegular():
		case strings.HasSuffix(p, ".cast"):
			found = append(found, p)
		case strings.HasSuffix(p, ".manifest.json"):
			// A manifest whose recording was shipped and removed by an
			// interrupted run: ship (verify) and remove it too.
			if c := strings.TrimSuffix(p, ".manifest.json") + ".cast"; !exists(c) {
				found = append(found, c)
			}
		case strings.HasSuffix(p, ".checkpoints"):
			if c := strings.TrimSuffix(p, ".checkpoints") + ".cast"; !exists(c) && !exists(recorder.ManifestPath(c)) {
				found = append(found, c)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("shipping: recover %s: %w", s.cfg.Dir, err)
	}
	for _, p := range found {
		s.enqueue(p, true)
	}
	if len(found) > 0 {
		s.log.Info("recordings waiting to be shipped", "count", len(found))
	}
	return nil
}

// Close gives up the recording directory. Call it after Run returned. A
// nil Shipper has nothing to close.
func (s *Shipper) Close() error {
	if s == nil || s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	return err
}

// Checkpointed queues the recording at castPath to be shipped as it
// stands. It never blocks.
func (s *Shipper) Checkpointed(castPath string) { s.enqueue(castPath, false) }

// Closed queues the closed recording at castPath to be shipped in full
// and then removed locally. It never blocks.
func (s *Shipper) Closed(castPath string) { s.enqueue(castPath, true) }

func (s *Shipper) enqueue(castPath string, final bool) {
	rel, ok := s.rel(castPath)
	if !ok {
		s.log.Error("recording outside the recording directory is not shipped", "path", castPath, "dir", s.cfg.Dir)
		return
	}
	now := time.Now()
	s.mu.Lock()
	j := s.jobs[rel]
	switch {
	case j == nil:
		j = &job{since: now, due: now}
		s.jobs[rel] = j
	case j.busy:
		j.again = true
	case j.attempts == 0:
		j.due = now
		// A job in backoff keeps its schedule: new data does not hurry
		// a request to a bucket that is down.
	}
	j.final = j.final || final
	s.mu.Unlock()
	s.poke()
}

func (s *Shipper) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// rel returns castPath relative to Dir, with forward slashes, if it is
// inside Dir.
func (s *Shipper) rel(castPath string) (string, bool) {
	r, err := filepath.Rel(s.cfg.Dir, castPath)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) || filepath.IsAbs(r) {
		return "", false
	}
	return filepath.ToSlash(r), true
}

// Pending lists the recordings (relative paths of .cast files) with
// shipping work not yet done.
func (s *Shipper) Pending() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.jobs))
	for rel := range s.jobs {
		out = append(out, rel)
	}
	return out
}

// backlog returns the number of recordings with work outstanding and the
// age of the oldest.
func (s *Shipper) backlog() (int, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var oldest time.Duration
	for _, j := range s.jobs {
		oldest = max(oldest, time.Since(j.since))
	}
	return len(s.jobs), oldest
}

// Run ships recordings until ctx ends. Work left when it returns is found
// again by Recover at the next start.
func (s *Shipper) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Go(func() { s.work(ctx) })
	}
	wg.Wait()
}

// work takes due jobs one at a time until ctx ends.
func (s *Shipper) work(ctx context.Context) {
	for {
		rel, final, attempt, wait := s.take()
		if rel == "" {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-s.wake:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		err := s.ship(ctx, rel, final)
		retry := s.done(rel, err)
		if ctx.Err() != nil {
			return // shutting down: not a failure of the bucket
		}
		if err != nil {
			s.failed(ctx, rel, attempt, retry, err)
		}
	}
}

// idleWait is how long an idle worker sleeps when no job is scheduled; a
// new job wakes it sooner.
const idleWait = time.Minute

// take claims the job due first, or returns how long to wait for one.
// attempt counts from 1.
func (s *Shipper) take() (rel string, final bool, attempt int, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var first *job
	for r, j := range s.jobs {
		if !j.busy && (first == nil || j.due.Before(first.due)) {
			rel, first = r, j
		}
	}
	switch {
	case first == nil:
		return "", false, 0, idleWait
	case first.due.After(now):
		return "", false, 0, first.due.Sub(now)
	}
	first.busy = true
	return rel, first.final, first.attempts + 1, 0
}

// done records the outcome of shipping rel and returns, after a failure,
// the wait before the next attempt.
func (s *Shipper) done(rel string, err error) (retry time.Duration) {
	s.mu.Lock()
	defer s.poke() // another worker may wait for this job
	defer s.mu.Unlock()
	j := s.jobs[rel]
	j.busy = false
	var se *shipError
	j.unreached = err != nil && (!errors.As(err, &se) || se.reason == ReasonUpload)
	switch {
	case err != nil:
		j.attempts++
		retry = s.backoff(j.attempts)
		j.due = time.Now().Add(retry)
	case j.again:
		j.again, j.attempts, j.due = false, 0, time.Now()
	default:
		delete(s.jobs, rel)
	}
	if err == nil {
		// The bucket answers again: what waits only because it did not
		// need not sit out its backoff.
		for _, o := range s.jobs {
			if o.unreached && !o.busy {
				o.due = time.Now()
			}
		}
	}
	return retry
}

// backoff is the wait after n failed attempts in a row.
func (s *Shipper) backoff(n int) time.Duration {
	d := s.cfg.MinBackoff
	for i := 1; i < n && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.MaxBackoff)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
