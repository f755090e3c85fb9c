package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/masking"
	"github.com/bastion-ssh/bastion/policies"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// Store is the subset of the store the server writes to.
type Store interface {
	CreateSession(ctx context.Context, s store.Session) error
	EndSession(ctx context.Context, id string, e store.SessionEnd) error
	Audit(ctx context.Context, e store.Event) error
}

// SessionLog is an append-only log of session digests (recorder.Log).
type SessionLog interface {
	Append(record []byte) (int64, error)
}

// PolicySource returns the policy in force (policies.Watcher).
type PolicySource interface {
	Current() *policies.Policy
}

var (
	_ SessionLog   = (*recorder.Log)(nil)
	_ Store        = (*store.Store)(nil)
	_ PolicySource = (*policies.Watcher)(nil)
)

// Config is everything the server needs. All fields are required unless
// marked optional.
type Config struct {
	HostSigners []ssh.Signer
	Checker     *certauth.Checker
	Policy      PolicySource
	// Targets resolves a target name; false means unknown.
	Targets func(name string) (config.Target, bool)
	// TargetNames lists every target, for the list shown to a user name
	// that names none (optional; without it the list is left out).
	TargetNames func() []string
	Upstream    *Upstream
	Store       Store
	// Recordings creates the recording for a session.
	Recordings RecordingFactory
	// RecordInput also records what clients type ("i" events), masked
	// like output. Off by default: passwords typed at prompts would be
	// written to disk.
	RecordInput bool
	// FingerprintKey keys the HMAC fingerprints in masking audit records
	// (at least 16 bytes, stable across restarts). Required.
	FingerprintKey []byte
	// SessionLog, if set, receives each closed session's manifest digest,
	// so that a deleted recording is detectable (recorder.Log).
	SessionLog SessionLog
	// Logger for operational logs (optional; discards if nil). Audit
	// events go to Store, not here.
	Logger *slog.Logger
	// HandshakeTimeout bounds the client's SSH handshake and authentication.
	HandshakeTimeout time.Duration
	// IdleTimeout ends connections with no traffic in either direction for
	// this long (checked every SweepInterval), their sessions with
	// ExitIdleTimeout; zero means none.
	IdleTimeout time.Duration
	// Revoked, if set, is the revocation lookup for connections already
	// authenticated (each new channel, and the sweep): unlike
	// Checker.IsRevoked it can say that it could not tell (the store is
	// unavailable), which refuses new channels but does not end running
	// connections as if revoked. If nil, Checker.IsRevoked is used.
	Revoked func(ctx context.Context, cert *ssh.Certificate) (bool, error)
	// SweepInterval is how often open connections are checked against the
	// revocation list and their certificate's expiry; zero means
	// DefaultSweepInterval.
	SweepInterval time.Duration
	// MaxConnsPerSource bounds the connections open at once from one
	// source IP; zero means DefaultMaxConnsPerSource, negative unlimited.
	MaxConnsPerSource int
	// ProxyProtocolFrom are the load balancers (addresses and ranges) whose
	// connections must open with a PROXY protocol v2 header naming the
	// client; its address is then the connection's source everywhere. A
	// header from any other peer is refused. Empty: nobody may send one.
	ProxyProtocolFrom []netip.Prefix
	// Commands judges each exec command before it reaches the target
	// (allow, deny, or hold for review); if nil, every command the access
	// rule admits is allowed.
	Commands CommandJudge
	// Approvals serves the reserved user ApprovalsUser (list, show,
	// approve, deny); if nil, that user gets nothing.
	Approvals ApprovalDesk
	// Clock returns the current time; if nil, time.Now is used.
	Clock func() time.Time
	// Node names this bastion in recording headers, when several serve as
	// one (optional).
	Node string
}

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = gliderssh.ErrServerClosed

// Server is the front SSH server.
type Server struct {
	cfg Config
	log *slog.Logger
	ssh *gliderssh.Server

	// sessions counts live session handlers and connection watchers;
	// Shutdown and Close wait for it.
	sessions sync.WaitGroup

	mu    sync.Mutex // guards conns; held only to change or copy it
	conns map[*connState]struct{}

	sources *sourceLimiter     // open connections per source IP
	preauth *preauthAggregator // pre-authentication failures, counted

	closing   chan struct{} // closed when the certificate sweep is to stop
	recheck   chan struct{} // Recheck asks the sweep to run now (capacity 1)
	closeOnce sync.Once
	watchOnce sync.Once
	draining  atomic.Bool // set by Shutdown: no new connection or channel (drain.go)

	// masker is the compiled masker of the latest policy version seen:
	// one per reload, the previous one dropped.
	masker atomic.Pointer[compiledMasker]
}

type compiledMasker struct {
	policy *policies.Policy
	masker *masking.Masker
}

// New validates cfg and builds a server.
func New(cfg Config) (*Server, error) {
	switch {
	case len(cfg.HostSigners) == 0:
		return nil, errors.New("server: no host key (a bastion never runs with a generated one)")
	case cfg.Checker == nil || len(cfg.Checker.Authorities) == 0:
		return nil, errors.New("server: no trusted user CA")
	case cfg.Policy == nil || cfg.Targets == nil || cfg.Upstream == nil || cfg.Store == nil || cfg.Recordings == nil:
		return nil, errors.New("server: incomplete config (policy, targets, upstream, store and recordings are required)")
	}
	if len(cfg.FingerprintKey) < 16 {
		return nil, errors.New("server: fingerprint key missing or shorter than 16 bytes")
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 20 * time.Second
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if cfg.MaxConnsPerSource == 0 {
		cfg.MaxConnsPerSource = DefaultMaxConnsPerSource
	}
	s := &Server{cfg: cfg, log: cfg.Logger, conns: map[*connState]struct{}{}, closing: make(chan struct{}),
		recheck: make(chan struct{}, 1)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.sources = &sourceLimiter{max: cfg.MaxConnsPerSource, open: map[string]int{}}
	s.preauth = &preauthAggregator{audit: s.audit, now: s.now, log: s.log, counts: map[preauthKey]int{}}
	s.ssh = &gliderssh.Server{
		HostSigners:      signers(cfg.HostSigners),
		Version:          "bastion",
		PublicKeyHandler: offeredKey,
		ServerConfigCallback: func(ctx gliderssh.Context) *ssh.ServerConfig {
			return &ssh.ServerConfig{
				MaxAuthTries: 6,
				VerifiedPublicKeyCallback: func(conn ssh.ConnMetadata, key ssh.PublicKey, _ *ssh.Permissions, _ string) (*ssh.Permissions, error) {
					return s.verifiedKey(connStateOf(ctx), conn, key)
				},
			}
		},
		ConnCallback:             s.onConnect,
		ConnectionFailedCallback: s.onConnectFailed,
		ChannelHandlers: map[string]gliderssh.ChannelHandler{
			"session":                        s.handleSession,
			"direct-tcpip":                   s.handleDirectTCPIP,
			"direct-streamlocal@openssh.com": s.refuseStreamlocalChannel,
			"default":                        s.refuseChannel,
		},
		RequestHandlers: map[string]gliderssh.RequestHandler{
			"keepalive@openssh.com": func(gliderssh.Context, *gliderssh.Server, *ssh.Request) (bool, []byte) {
				return true, nil
			},
			"tcpip-forward":                          s.refuseRemoteForward,
			"cancel-tcpip-forward":                   s.refuseRemoteForward,
			"streamlocal-forward@openssh.com":        s.refuseRemoteForward,
			"cancel-streamlocal-forward@openssh.com": s.refuseRemoteForward,
		},
	}
	return s, nil
}

func signers(in []ssh.Signer) []gliderssh.Signer {
	out := make([]gliderssh.Signer, len(in))
	for i, s := range in {
		out[i] = s
	}
	return out
}

// Serve accepts connections on l until Shutdown or Close.
func (s *Server) Serve(l net.Listener) error {
	s.watchOnce.Do(func() {
		s.sessions.Add(1)
		go s.watchCertificates()
	})
	return s.ssh.Serve(l)
}

func (s *Server) stopWatching() { s.closeOnce.Do(func() { close(s.closing) }) }

// Close closes the listeners and every connection at once, then waits for
// session handlers to finish writing their recordings and audit events.
func (s *Server) Close() error {
	s.stopWatching()
	err := s.ssh.Close()
	s.sessions.Wait()
	s.preauth.flush()
	return err
}

// handshakeConn caps every deadline at the handshake deadline until the SSH
// handshake completes. gliderlabs resets the deadline on each read and
// write (to the idle timeout, or to none), which would otherwise lift it.
type handshakeConn struct {
	net.Conn
	ctx      gliderssh.Context
	deadline time.Time
	done     atomic.Bool
}

func (c *handshakeConn) SetDeadline(t time.Time) error {
	if !c.done.Load() {
		// gliderlabs stores the connection in the context once the
		// handshake, authentication included, has succeeded.
		if c.ctx.Value(gliderssh.ContextKeyConn) != nil {
			c.done.Store(true)
		} else if t.IsZero() || t.After(c.deadline) {
			t = c.deadline
		}
	}
	return c.Conn.SetDeadline(t)
}

// onConnectFailed counts a failed handshake (flood.go): one row per
// source and reason a minute, however many clients send junk.
func (s *Server) onConnectFailed(nc net.Conn, err error) {
	reason := handshakeReason(err)
	s.preauth.record(store.Event{Type: "connection.failed", Outcome: store.OutcomeDenied,
		SourceAddr: nc.RemoteAddr().String(), Reason: reason + ": " + printable(err.Error())}, reason)
}

func (s *Server) now() time.Time {
	if s.cfg.Clock != nil {
		return s.cfg.Clock()
	}
	return time.Now()
}

// auditTimeout bounds one audit write. It is longer than the SQLite store's
// busy timeout, so a briefly locked database is waited for, not a stuck one.
const auditTimeout = 10 * time.Second

// audit writes an audit event, stamping the time. The write is not
// abandoned when ctx is cancelled (a client that goes away still leaves
// its evidence), but it is bounded by auditTimeout.
func (s *Server) audit(ctx context.Context, e store.Event) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	if err := s.cfg.Store.Audit(ctx, e); err != nil {
		s.log.Error("audit write failed", "type", e.Type, "err", err)
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// maskerFor returns the masker for a policy version. Only the latest
// version's masker is kept: a reload compiles one and drops the previous
// (sessions that hold it keep it alive until they end).
func (s *Server) maskerFor(p *policies.Policy) (*masking.Masker, error) {
	if c := s.masker.Load(); c != nil && c.policy == p {
		return c.masker, nil
	}
	var cfg masking.Config
	if p != nil {
		cfg = p.Masking
	}
	m, err := masking.New(cfg, s.cfg.FingerprintKey)
	if err != nil {
		return nil, err
	}
	s.masker.Store(&compiledMasker{policy: p, masker: m})
	return m, nil
}
