package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/bastion-ssh/bastion/policies"
)

// Health checks for a load balancer and an orchestrator. /healthz says the
// process answers; /readyz says this node should be sent clients: its
// store answers, its recording directory takes a write (recordings are
// written before the client sees output, so a node that cannot write one
// can serve nobody), a valid policy is in force, it is not draining, and
// its heartbeats reach the store (the other nodes take a node whose beats
// stop for dead, and end its sessions as incomplete).
//
// The answers name each check and whether it passed, nothing more: the
// health listener may face the network. Why a check fails is logged, once
// each time it turns.

// readyCheckTimeout bounds each readiness check; a store that takes longer
// is as good as down for a client waiting to log in.
const readyCheckTimeout = 2 * time.Second

// readiness runs the /readyz checks.
type readiness struct {
	store      interface{ Ping(context.Context) error }
	recordings string // the recording directory
	policy     func() *policies.Policy
	draining   func() bool
	// heartbeat reports whether the node's beats reach the store
	// (liveness.Node.Beating); set once the node has claimed its name,
	// before the health listeners serve.
	heartbeat func() error
	log       *slog.Logger

	mu      sync.Mutex      // guards failing
	failing map[string]bool // each check's last outcome, to log changes once

	// runs lets one run of the checks at a time answer every request that
	// arrives meanwhile. The checks take a database connection and write
	// a file, and the health listener may face the network: a flood of
	// requests must not become a flood of connections to PostgreSQL,
	// whose connection limit every node shares (audit writes would then
	// fail, and every session with them).
	runs singleflight.Group
}

func newReadiness(st interface{ Ping(context.Context) error }, recordings string, policy func() *policies.Policy, draining func() bool, log *slog.Logger) *readiness {
	return &readiness{store: st, recordings: recordings, policy: policy, draining: draining, log: log, failing: map[string]bool{}}
}

// check is one named readiness check.
type check struct {
	name string
	run  func(context.Context) error
}

func (r *readiness) checks() []check {
	return []check{
		{"draining", func(context.Context) error {
			if r.draining() {
				return errors.New("draining: shutting down, no new connections")
			}
			return nil
		}},
		{"store", r.store.Ping},
		{"heartbeat", func(context.Context) error {
			if r.heartbeat == nil {
				return errors.New("the node has not claimed its name yet")
			}
			return r.heartbeat()
		}},
		{"recordings", func(ctx context.Context) error { return probeWritable(ctx, r.recordings) }},
		{"policy", func(context.Context) error {
			// The watcher keeps the last valid version when an edit is
			// rejected (and says so in the audit trail and metrics), so a
			// typo does not take every node out of service at once.
			if r.policy() == nil {
				return errors.New("no valid policy loaded")
			}
			return nil
		}},
	}
}

// readyReport is the body of /readyz.
type readyReport struct {
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks"` // name: "ok" or "failing"
}

// run runs every check, each bounded by readyCheckTimeout.
func (r *readiness) run(ctx context.Context) readyReport {
	rep := readyReport{Ready: true, Checks: map[string]string{}}
	for _, c := range r.checks() {
		cctx, cancel := context.WithTimeout(ctx, readyCheckTimeout)
		err := c.run(cctx)
		cancel()
		r.note(c.name, err)
		if err != nil {
			rep.Ready = false
			rep.Checks[c.name] = "failing"
		} else {
			rep.Checks[c.name] = "ok"
		}
	}
	return rep
}

// note logs a check that turned failing, or back.
func (r *readiness) note(name string, err error) {
	r.mu.Lock()
	was := r.failing[name]
	r.failing[name] = err != nil
	r.mu.Unlock()
	switch {
	case err != nil && !was:
		r.log.Warn("readiness check failing", "check", name, "err", err)
	case err == nil && was:
		r.log.Info("readiness check passing again", "check", name)
	}
}

func (r *readiness) serveReady(w http.ResponseWriter, req *http.Request) {
	// Not cut short by the first asker leaving: others may share the run.
	v, _, _ := r.runs.Do("", func() (any, error) { return r.run(context.WithoutCancel(req.Context())), nil })
	rep := v.(readyReport)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !rep.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(rep)
}

func serveHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, "ok")
}

// handle adds /healthz and /readyz to mux.
func (r *readiness) handle(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", serveHealthz)
	mux.HandleFunc("GET /readyz", r.serveReady)
}

// probeWritable creates, writes, syncs and removes a file in dir (making
// dir if need be), as a recording would. A disk that hangs leaves the probe running in the
// background; the check fails at ctx's deadline.
func probeWritable(ctx context.Context, dir string) error {
	done := make(chan error, 1)
	go func() {
		// Made as the first recording would make it.
		if err := os.MkdirAll(dir, 0o700); err != nil {
			done <- err
			return
		}
		f, err := os.CreateTemp(dir, ".readyz-*")
		if err != nil {
			done <- err
			return
		}
		_, werr := f.Write([]byte("ready\n"))
		serr := f.Sync()
		cerr := f.Close()
		rerr := os.Remove(f.Name())
		done <- errors.Join(werr, serr, cerr, rerr)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("recording directory: no answer: %w", ctx.Err())
	}
}

// healthMaxHeaderBytes bounds a request's header: a balancer's check is a
// few hundred bytes, and net/http's default of a megabyte held for the
// header's read timeout would let anyone who reaches the port hold that
// much of the bastion's memory per connection.
const healthMaxHeaderBytes = 8 << 10

// healthServer serves only /healthz and /readyz, on an address a load
// balancer can reach (diagnostics.health_listen); metrics and profiles stay
// on loopback.
type healthServer struct {
	srv *http.Server
	ln  net.Listener
}

func newHealthServer(addr string, r *readiness, log *slog.Logger) (*healthServer, error) {
	mux := http.NewServeMux()
	r.handle(mux)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("health listen: %w", err)
	}
	return &healthServer{ln: ln, srv: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: apiReadHeaderTimeout,
		MaxHeaderBytes:    healthMaxHeaderBytes,
		ReadTimeout:       apiReadTimeout,
		WriteTimeout:      apiWriteTimeout,
		IdleTimeout:       apiIdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}, nil
}

func (h *healthServer) serve() error {
	if err := h.srv.Serve(h.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (h *healthServer) shutdown(ctx context.Context) error { return h.srv.Shutdown(ctx) }
