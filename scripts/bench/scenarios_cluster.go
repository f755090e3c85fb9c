package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// clusterScenario loads a two-node cluster (one PostgreSQL, one bucket,
// recording on): N interactive sessions at once, alternating between the
// nodes, each printing a line the harness knows. With all of them open it
// takes each node's memory; then it ends them and checks that nothing was
// lost: every client exited 0 having read its lines, every session has an
// ended row naming its node, every recording reached the bucket and holds
// those lines there, and everything verifies (`bastion verify --all` on
// one node: every session, the session log, the shared audit chain). The
// whole scenario is bounded: past its deadline it fails, saying where it
// was.
func (b *bench) clusterScenario(ctx context.Context) error {
	n, timeout := b.opt.clusterSessions, b.opt.clusterTimeout()
	if err := checkNoFile(n); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	logf(b.opt.log, "cluster: starting PostgreSQL, the S3 server and two nodes")
	c, err := b.e.startCluster(ctx)
	if err == nil {
		defer c.close()
		err = b.clusterLoad(ctx, c, n)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%d sessions: not finished within %s: %w", n, timeout, err)
	}
	if err != nil {
		return fmt.Errorf("%d sessions: %w", n, err)
	}
	total := time.Since(start)
	b.res.add("cluster.total", viaBastion, total.Seconds())
	logf(b.opt.log, "%-40s %d sessions on 2 nodes, everything checked, in %.1fs", "cluster", n, total.Seconds())
	return nil
}

// clusterLoad holds the sessions open and measures them, ends them, and
// checks that nothing was lost.
func (b *bench) clusterLoad(ctx context.Context, c *benchCluster, n int) error {
	// One session per node first: what every node sets up once (database
	// connections, the shipper's first upload) is not counted per session.
	for i, node := range c.nodes {
		s, err := b.openClusterSession(ctx, ctx, node, n+i) // numbered after the measured ones
		if err == nil {
			err = s.end(ctx)
		}
		if err != nil {
			return fmt.Errorf("warm-up on %s: %w", node.name, err)
		}
	}
	sessions, err := b.holdCluster(ctx, c, n)
	if err != nil {
		return err
	}
	if err := endCluster(ctx, sessions); err != nil {
		return err
	}
	ended := time.Now()
	if err := b.clusterRows(ctx, c, sessions); err != nil {
		return err
	}
	if err := c.waitShipped(ctx); err != nil {
		return err
	}
	b.res.add("cluster.ship", viaBastion, time.Since(ended).Seconds())
	logf(b.opt.log, "%-40s every recording in the bucket %.1fs after the last session ended", "cluster shipping", time.Since(ended).Seconds())
	if err := c.checkBucket(ctx, sessions); err != nil {
		return err
	}
	return b.clusterVerify(ctx, c, sessions)
}

// holdCluster opens n sessions and, with all of them open, records the
// nodes' memory growth per session and the setup rate. On error it ends
// the sessions it opened.
func (b *bench) holdCluster(ctx context.Context, c *benchCluster, n int) ([]*clusterSession, error) {
	base, err := c.memory()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	sessions, err := b.openCluster(ctx, c, n)
	opened := time.Since(t0)
	if err == nil {
		err = sleep(ctx, time.Second) // let the last sessions' buffers settle, as for idle sessions
	}
	var mem []int64
	if err == nil {
		mem, err = c.memory()
	}
	if err != nil {
		stopCluster(sessions)
		return nil, err
	}
	var grown int64
	var perNode []string
	for i, node := range c.nodes {
		d, k := mem[i]-base[i], (n+len(c.nodes)-1-i)/len(c.nodes) // node i serves sessions i, i+2, ...
		grown += d
		perNode = append(perNode, fmt.Sprintf("%s %+.1f MiB over %d sessions", node.name, float64(d)/(1<<20), k))
		logf(b.opt.log, "%-40s %-7s %d sessions: RSS %+.1f MiB", "cluster memory", node.name, k, float64(d)/(1<<20))
	}
	b.res.note("cluster memory per node (VmRSS growth): %s", strings.Join(perNode, ", "))
	b.res.add("cluster.per_session", viaBastion, float64(grown)/float64(n)/(1<<20))
	b.res.add("cluster.total_memory", viaBastion, float64(grown)/(1<<20))
	lat := make([]time.Duration, len(sessions))
	for i, s := range sessions {
		lat[i] = s.setup
	}
	b.recordSetup("cluster.setup", viaBastion, n, opened, lat)
	return sessions, nil
}

// Open files per session: three pipes to each client here; in the node
// that serves it, the client's and the target's connections, the
// recording and its checkpoints, with room to spare. Every process the
// harness starts inherits its limit (raiseNoFile).
const filesPerSession = 8

// checkNoFile fails early, naming the fix, if the open-file limit cannot
// hold n sessions.
func checkNoFile(n int) error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	if need := uint64(filesPerSession*n + 256); l.Cur < need {
		return fmt.Errorf("the open-file limit is %d (hard %d), %d sessions want %d: raise it (ulimit -n) or lower BENCH_CLUSTER_SESSIONS", l.Cur, l.Max, n, need)
	}
	return nil
}

// clusterSession is one ssh client of the scenario, held open.
type clusterSession struct {
	i      int
	node   *clusterNode
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *markerWriter
	stderr bytes.Buffer
	exited chan error // receives the client's exit, once
	setup  time.Duration
	id     string // the session's id, from its row
}

// The lines each session prints: computed by the shell, so that the
// command line in the recording's header does not contain them.
func (s *clusterSession) openLine() string { return fmt.Sprintf("cluster-%d-open-42", s.i) }
func (s *clusterSession) doneLine() string { return fmt.Sprintf("cluster-%d-done-42", s.i) }
func (s *clusterSession) command() string {
	return fmt.Sprintf("echo cluster-%d-open-$((6*7)); read _; echo cluster-%d-done-$((6*7))", s.i, s.i)
}

// openCluster opens n sessions, session i on node i mod 2, a bounded
// number at a time, and returns once each has printed its first line. The
// first failure stops the opening.
func (b *bench) openCluster(ctx context.Context, c *benchCluster, n int) ([]*clusterSession, error) {
	var (
		mu       sync.Mutex
		sessions []*clusterSession
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(idleStartParallel)
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			// The client lives on ctx: gctx ends when the opening does.
			s, err := b.openClusterSession(ctx, gctx, c.nodes[i%len(c.nodes)], i)
			if err != nil {
				return err
			}
			mu.Lock()
			sessions = append(sessions, s)
			mu.Unlock()
			return nil
		})
	}
	err := g.Wait()
	if err == nil && len(sessions) < n {
		err = ctx.Err()
	}
	if err != nil {
		return sessions, fmt.Errorf("opened %d of %d sessions: %w", len(sessions), n, err)
	}
	return sessions, nil
}

// openClusterSession starts one client on ctx and waits, while wait lasts,
// until it has printed its first line.
func (b *bench) openClusterSession(ctx, wait context.Context, node *clusterNode, i int) (*clusterSession, error) {
	s := &clusterSession{i: i, node: node, exited: make(chan error, 1)}
	s.out = newMarkerWriter(s.openLine())
	args := append(b.e.sshOpts(viaBastion, ciphers[0]), "-p", fmt.Sprint(node.srv.port), "-tt", login(viaBastion)+"@127.0.0.1", s.command())
	s.cmd = command(ctx, "ssh", args...)
	stdin, err := s.cmd.StdinPipe() // held open: the session reads a line from it
	if err != nil {
		return nil, err
	}
	s.stdin = stdin
	s.cmd.Stdout, s.cmd.Stderr = s.out, &s.stderr
	start := time.Now()
	if err := b.e.procs.start(s.cmd); err != nil {
		return nil, err
	}
	go func() { s.exited <- b.e.procs.wait(s.cmd) }()
	select {
	case <-s.out.seen:
		s.setup = time.Since(start)
		return s, nil
	case err = <-s.exited:
		err = fmt.Errorf("ended before its first line (%v): %s%s", err, s.out.String(), s.stderr.String())
	case <-wait.Done():
		_ = s.cmd.Process.Kill()
		<-s.exited
		err = wait.Err()
	}
	return nil, fmt.Errorf("session %d on %s: %w", i, node.name, err)
}

// end sends the line the session waits for and checks that the client
// printed the last line and exited 0.
func (s *clusterSession) end(ctx context.Context) error {
	if _, err := io.WriteString(s.stdin, "\n"); err != nil {
		return fmt.Errorf("session %d on %s: %w", s.i, s.node.name, err)
	}
	var err error
	select {
	case err = <-s.exited:
	case <-ctx.Done():
		return fmt.Errorf("session %d on %s: did not end: %w", s.i, s.node.name, ctx.Err())
	}
	s.stdin.Close()
	if err != nil || !strings.Contains(s.out.String(), s.doneLine()) {
		return fmt.Errorf("session %d on %s: exit %v, output %q, stderr %q", s.i, s.node.name, err, s.out.String(), s.stderr.String())
	}
	return nil
}

// endCluster ends every session at once and reports how many failed.
func endCluster(ctx context.Context, sessions []*clusterSession) error {
	errs := make([]error, len(sessions))
	var wg sync.WaitGroup
	for k, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[k] = s.end(ctx)
		}()
	}
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d sessions did not end cleanly; the first: %w", len(failed), len(sessions), failed[0])
	}
	return nil
}

// stopCluster kills every client still running and waits for it.
func stopCluster(sessions []*clusterSession) {
	for _, s := range sessions {
		_ = s.cmd.Process.Kill()
	}
	for _, s := range sessions {
		<-s.exited
	}
}

// markerWriter keeps what a client printed and closes seen once it
// contains marker.
type markerWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker []byte
	seen   chan struct{}
}

func newMarkerWriter(marker string) *markerWriter {
	return &markerWriter{marker: []byte(marker), seen: make(chan struct{})}
}

func (w *markerWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	already := bytes.Contains(w.buf.Bytes(), w.marker)
	w.buf.Write(p)
	if !already && bytes.Contains(w.buf.Bytes(), w.marker) {
		close(w.seen)
	}
	return len(p), nil
}

func (w *markerWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
