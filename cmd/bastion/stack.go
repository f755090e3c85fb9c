package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sync/errgroup"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/policies"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/server"
	"github.com/bastion-ssh/bastion/shipping"
	"github.com/bastion-ssh/bastion/store"
)

// shutdownGrace is how long live sessions get to finish on SIGINT/SIGTERM
// before their connections are closed.
const shutdownGrace = 10 * time.Second

// stack is one running bastion built from a config.
type stack struct {
	cfg    *config.Config
	store  *store.Store
	log    *recorder.Log
	policy *policies.Watcher
	server *server.Server
	ln     net.Listener
	logger *slog.Logger
	api    *apiServer  // nil unless http.listen is set
	diag   *diagServer // nil unless diagnostics.listen is set
	// checkpoints enters the audit chain's head in the session log.
	checkpoints *auditCheckpointer
	review      *review
	shipper     *shipping.Shipper // nil unless recording.s3 is set
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
	st, err := store.Open(dbPath(cfg.DataDir))
	if err != nil {
		return nil, err
	}
	sessionLog, err := recorder.OpenLog(logDir(cfg.DataDir), signing)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("session log: %w", err)
	}
	if err := anchorLog(cfg, sessionLog, signing.Public().(ed25519.PublicKey)); err != nil {
		st.Close()
		sessionLog.Close()
		return nil, err
	}
	// Metrics are counted whether or not anything serves them.
	reg := prometheus.NewRegistry()
	metered := newMeteredStore(st, reg)
	masked := &maskedStore{next: metered, m: auditMasker(fpSecret)}
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
		Commands:          gate.Judge,
		Approvals:         rv.broker,
	})
	if err != nil {
		st.Close()
		sessionLog.Close()
		shipper.Close()
		return nil, err
	}
	pw.OnReload = policyReloadHook(cfg.Policy, metered, reg, log)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		st.Close()
		sessionLog.Close()
		shipper.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &stack{cfg: cfg, store: st, log: sessionLog, policy: pw, server: srv, ln: ln, logger: log, review: rv, shipper: shipper,
		checkpoints: &auditCheckpointer{store: st, log: sessionLog, logger: log}}
	if cfg.HTTP.Listen != "" {
		if s.api, err = newAPIServer(cfg, apiStores{masked, metered}, userCA, hostKey, ln.Addr().String(), targetLister(cfg, pw), log); err != nil {
			s.closeAll()
			return nil, err
		}
		s.api.srv.Handler = rv.withSlack(s.api.srv.Handler)
	}
	if cfg.Diagnostics.Listen != "" {
		if s.diag, err = newDiagServer(cfg.Diagnostics, reg, log); err != nil {
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
	if err := s.store.Audit(ctx, store.Event{Type: "bastion.start", Outcome: store.OutcomeInfo, Reason: s.ln.Addr().String()}); err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	if err := s.checkpoints.checkpoint(ctx); err != nil {
		s.logger.Error("audit checkpoint failed", "err", err)
	}
	g, gctx := errgroup.WithContext(ctx)
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
	g.Go(func() error {
		<-gctx.Done()
		// A fresh context: the parent is already cancelled, and the grace
		// period is what bounds the shutdown.
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		err := s.server.Shutdown(sctx)
		if s.api != nil {
			err = errors.Join(err, s.api.shutdown(sctx))
		}
		if s.diag != nil {
			err = errors.Join(err, s.diag.shutdown(sctx))
		}
		if aerr := s.store.Audit(sctx, store.Event{Type: "bastion.stop", Outcome: store.OutcomeInfo}); aerr != nil {
			err = errors.Join(err, fmt.Errorf("audit trail: %w", aerr))
		}
		// The last checkpoint covers the stop event: a trail truncated
		// while the bastion is down is caught.
		if cerr := s.checkpoints.checkpoint(sctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil
		}
		return err
	})
	return g.Wait()
}
