package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sync/errgroup"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/liveness"
	"github.com/bastion-ssh/bastion/policies"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/server"
	"github.com/bastion-ssh/bastion/shipping"
	"github.com/bastion-ssh/bastion/store"
)

// What follows the drain (server/drain.go) is bounded: the HTTP listeners'
// requests in flight get httpStopTimeout, then the stop event and the last
// audit checkpoint get stopTimeout of their own.
const (
	httpStopTimeout = 5 * time.Second
	stopTimeout     = 10 * time.Second
)

// stack is one running bastion built from a config.
type stack struct {
	cfg    *config.Config
	store  *store.Store
	trail  server.Store // the store's audit trail, each event naming this node
	log    sessionLog
	policy *policies.Watcher
	server *server.Server
	ln     net.Listener
	logger *slog.Logger
	api    *apiServer    // nil unless http.listen is set
	diag   *diagServer   // nil unless diagnostics.listen is set
	health *healthServer // nil unless diagnostics.health_listen is set
	ready  *readiness    // what diag and health answer on /readyz
	// checkpoints enters the audit chain's head in the session log.
	checkpoints *auditCheckpointer
	review      *review
	shipper     *shipping.Shipper // nil unless recording.s3 is set
	// liveness is this node's heartbeat and its sweep for dead nodes.
	liveness liveness.Config
}

// newStack loads every key and file the config names; any problem is a
// start-up error, so the server never runs half-configured.
func newStack(ctx context.Context, cfg *config.Config, log *slog.Logger) (*stack, error) {
	tuneGC()
	hostKey, err := certauth.LoadKey(cfg.HostKey)
	if err != nil {
		return nil, fmt.Errorf("host_key: %w", err)
	}
	userCA, targetCA, err := newSigners(ctx, cfg)
	if err != nil {
		return nil, err
	}
	trusted, err := certauth.LoadPublicKeys(cfg.TrustedUserCAs...)
	if err != nil {
		return nil, fmt.Errorf("trusted_user_cas: %w", err)
	}
	signing, err := certauth.LoadEd25519(cfg.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("signing_key: %w", err)
	}
	fpSecret, err := loadFingerprintSecret(cfg, log)
	if err != nil {
		return nil, err
	}
	up := &server.Upstream{DialTimeout: cfg.Limits.WithDefaults().DialTimeout, Keys: map[string]ssh.Signer{}, TargetCA: targetCA}
	for _, t := range cfg.Targets {
		if t.Credential.Type == config.CredentialKey {
			k, err := certauth.LoadKey(t.Credential.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("target %s credential: %w", t.Name, err)
			}
			up.Keys[t.Name] = k
		}
	}
	pw, err := policies.NewWatcher(cfg.Policy)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	sc, err := configStore(cfg)
	if err != nil {
		return nil, err
	}
	st, err := store.Connect(ctx, sc)
	if err != nil {
		return nil, err
	}
	sessionLog, err := openSessionLog(ctx, st, cfg.DataDir, signing)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("session log: %w", err)
	}
	if err := anchorLog(ctx, cfg, st, sessionLog, signing.Public().(ed25519.PublicKey)); err != nil {
		st.Close()
		sessionLog.Close()
		return nil, err
	}
	// Metrics are counted whether or not anything serves them.
	reg := prometheus.NewRegistry()
	metered := newMeteredStore(st, reg)
	node := cfg.NodeName()
	trail := nodeStore{Store: metered, node: node}
	masked := &maskedStore{next: trail, m: auditMasker(fpSecret)}
	rv, err := newReview(cfg, st, masked, signing, log)
	if err != nil {
		st.Close()
		sessionLog.Close()
		return nil, err
	}
	recordings, shipper, err := newRecordings(cfg, recorder.Options{Signer: signing}, metered, reg, log)
	if err != nil {
		st.Close()
		sessionLog.Close()
		return nil, fmt.Errorf("recording.s3: %w", err)
	}
	gate := &server.CommandGate{Broker: rv.broker, Store: masked, Policy: pw.Current}
	srv, err := server.New(server.Config{
		HostSigners: []ssh.Signer{hostKey},
		Checker: &certauth.Checker{
			Authorities: append([]ssh.PublicKey{userCA.PublicKey()}, trusted...),
			IsRevoked:   revocationHook(st, log),
		},
		Policy:           pw,
		Targets:          cfg.Target,
		TargetNames:      cfg.TargetNames,
		Upstream:         up,
		Store:            masked,
		Recordings:       recordings,
		SessionLog:       sessionLog,
		FingerprintKey:   fpSecret,
		RecordInput:      cfg.Recording.RecordInput,
		Logger:           log,
		HandshakeTimeout: cfg.Limits.WithDefaults().HandshakeTimeout,
		IdleTimeout:      cfg.Limits.IdleTimeout,
		Revoked: func(ctx context.Context, cert *ssh.Certificate) (bool, error) {
			return st.IsRevoked(ctx, strconv.FormatUint(cert.Serial, 10), certauth.CertIdentity(cert), certauth.IssuedAt(cert))
		},
		SweepInterval:     cfg.Limits.CertificateCheck,
		MaxConnsPerSource: cfg.Limits.MaxConnsPerSource,
		ProxyProtocolFrom: cfg.ListenProxyProtocol.Prefixes(),
		Commands:          gate.Judge,
		Approvals:         rv.broker,
		Node:              node,
	})
	if err != nil {
		st.Close()
		sessionLog.Close()
		shipper.Close()
		return nil, err
	}
	pw.OnReload = policyReloadHook(cfg.Policy, trail, reg, log)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		st.Close()
		sessionLog.Close()
		shipper.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &stack{cfg: cfg, store: st, trail: trail, log: sessionLog, policy: pw, server: srv, ln: ln, logger: log, review: rv, shipper: shipper,
		checkpoints: &auditCheckpointer{store: st, log: sessionLog, logger: log},
		liveness: liveness.Config{Node: node, Store: metered,
			PrepareEvent: func(e store.Event) store.Event { return trail.nameNode(masked.maskEvent(e)) }, StaleAfter: cfg.Limits.NodeStaleAfter, Logger: log}}
	if cfg.HTTP.Listen != "" {
		if s.api, err = newAPIServer(cfg, apiStores{masked, metered}, userCA, hostKey, ln.Addr().String(), targetLister(cfg, pw), log); err != nil {
			s.closeAll()
			return nil, err
		}
		s.api.srv.Handler = rv.withSlack(s.api.srv.Handler)
	}
	s.ready = newReadiness(st, cfg.RecordingDir(), pw.Current, srv.Draining, log)
	ready := s.ready
	if cfg.Diagnostics.Listen != "" {
		if s.diag, err = newDiagServer(cfg.Diagnostics, reg, ready, log); err != nil {
			s.closeAll()
			return nil, err
		}
	}
	if cfg.Diagnostics.HealthListen != "" {
		if s.health, err = newHealthServer(cfg.Diagnostics.HealthListen, ready, log); err != nil {
			s.closeAll()
			return nil, err
		}
	}
	return s, nil
}

// closeAll undoes a half-built stack: its listeners, store and session log.
func (s *stack) closeAll() {
	s.ln.Close()
	if s.api != nil {
		s.api.ln.Close()
	}
	if s.diag != nil {
		s.diag.ln.Close()
	}
	s.store.Close()
	s.log.Close()
	s.shipper.Close()
}

// run serves until ctx ends, then shuts down gracefully.
func (s *stack) run(ctx context.Context) error {
	defer s.store.Close()
	defer s.log.Close()
	defer s.shipper.Close() // after the errgroup below: Run has returned
	s.review.start(ctx)
	defer s.review.close()
	// A bastion that cannot write its audit trail does not serve.
	if err := s.trail.Audit(ctx, store.Event{Type: "bastion.start", Outcome: store.OutcomeInfo, Reason: s.ln.Addr().String()}); err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	if err := s.checkpoints.checkpoint(ctx); err != nil {
		s.logger.Error("audit checkpoint failed", "err", err)
	}
	// Before serving: the sessions a previous life of this node left
	// open (it was killed, or lost power) end as incomplete.
	live, err := liveness.Claim(ctx, s.liveness)
	if err != nil {
		return fmt.Errorf("node %s: %w", s.liveness.Node, err)
	}
	s.ready.heartbeat = live.Beating // before the health listeners serve
	g, gctx := errgroup.WithContext(ctx)
	// The heartbeat outlives the drain: sessions a drain lets finish are
	// live, and must not be taken for a dead node's.
	liveCtx, stopBeating := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBeating()
	g.Go(func() error { return live.Run(liveCtx) })
	g.Go(func() error {
		err := s.server.Serve(s.ln)
		if errors.Is(err, server.ErrServerClosed) {
			return nil
		}
		return err
	})
	g.Go(func() error {
		s.policy.Run(gctx, policies.DefaultReloadInterval)
		return nil
	})
	g.Go(func() error {
		s.checkpoints.run(gctx, s.cfg.Evidence.CheckpointEvery())
		return nil
	})
	g.Go(func() error {
		runRetention(gctx, s.store, s.cfg.Retention, s.logger)
		return nil
	})
	g.Go(func() error {
		followChanges(s.store.Changes(gctx), s.review.broker, s.server, s.logger)
		return nil
	})
	if s.shipper != nil {
		// Recordings closed after this stops stay on disk; the next
		// start's Recover finds them.
		g.Go(func() error { s.shipper.Run(gctx); return nil })
	}
	if s.api != nil {
		s.logger.Info("certificate API listening", "url", s.api.URL())
		g.Go(s.api.serve)
	}
	if s.diag != nil {
		s.logger.Info("diagnostics listening", "addr", s.diag.ln.Addr().String(), "pprof", s.cfg.Diagnostics.Pprof)
		g.Go(s.diag.serve)
	}
	if s.health != nil {
		s.logger.Info("health checks listening", "addr", s.health.ln.Addr().String())
		g.Go(s.health.serve)
	}
	g.Go(func() error {
		<-gctx.Done()
		defer stopBeating()
		return s.stop()
	})
	err = g.Wait()
	// Stopped for good: a start of this node elsewhere need not wait out
	// the bound. Sessions left open (their end could not be written) are
	// then ended as incomplete by the other nodes at once.
	rctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if rerr := live.Release(rctx); rerr != nil {
		s.logger.Warn("cannot mark this node stopped in the store; its next start elsewhere waits out limits.node_stale_after", "err", rerr)
	}
	return err
}

// stop drains the SSH server (server/drain.go: /readyz fails first, then
// nothing new is accepted, and open sessions get limits.drain_timeout), then
// stops the HTTP listeners and writes the stop event and a last audit
// checkpoint. An error means something was not written; a drain whose
// deadline ended sessions is not one (each was ended and recorded).
func (s *stack) stop() error {
	drain := s.cfg.Limits.WithDefaults().DrainTimeout
	s.logger.Info("draining", "deadline", drain.String())
	// Fresh contexts: the parent is already cancelled. The drain has its
	// own deadline, and what follows gets its own bound rather than what
	// the drain left over.
	dctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := s.server.Shutdown(dctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	hctx, cancel := context.WithTimeout(context.Background(), httpStopTimeout)
	defer cancel()
	for _, srv := range s.httpServers() {
		err = errors.Join(err, stopHTTP(hctx, srv))
	}
	sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if aerr := s.trail.Audit(sctx, store.Event{Type: "bastion.stop", Outcome: store.OutcomeInfo}); aerr != nil {
		err = errors.Join(err, fmt.Errorf("audit trail: %w", aerr))
	}
	// The last checkpoint covers the stop event: a trail truncated
	// while the bastion is down is caught.
	if cerr := s.checkpoints.checkpoint(sctx); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return err
}

// httpServers are the stack's HTTP listeners that are on.
func (s *stack) httpServers() []*http.Server {
	var out []*http.Server
	if s.api != nil {
		out = append(out, s.api.srv)
	}
	if s.diag != nil {
		out = append(out, s.diag.srv)
	}
	if s.health != nil {
		out = append(out, s.health.srv)
	}
	return out
}

// stopHTTP stops an HTTP listener: requests in flight get until ctx's
// deadline, then their connections are closed. Cutting a slow request
// short writes nothing less, so it is not an error.
func stopHTTP(ctx context.Context, srv *http.Server) error {
	err := srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return srv.Close()
	}
	return err
}
