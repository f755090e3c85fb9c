package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/config"
)

// Reasons an upstream connection fails, each with its own exit status.
var (
	ErrTargetUnreachable = errors.New("target unreachable")
	ErrHostKeyMismatch   = errors.New("target host key verification failed")
	ErrUpstreamAuth      = errors.New("target refused the bastion's credential")
)

// Upstream dials targets as the bastion. The client's credentials never
// leave the front connection; the target sees only the bastion's own.
type Upstream struct {
	// TargetCA signs per-connection certificates; required for targets
	// whose credential type is "certificate".
	TargetCA certauth.Signer
	// Keys holds private keys for targets whose credential type is "key",
	// by target name. Loaded at start-up so a missing file fails early.
	Keys map[string]ssh.Signer
	// DialTimeout bounds TCP connect plus SSH handshake.
	DialTimeout time.Duration
}

// DialRequest says which target to reach, as whom, for whom.
type DialRequest struct {
	Target    config.Target
	Login     string
	Identity  string
	SessionID string // carried in the upstream certificate's KeyId
}

// Dial connects and authenticates to the target. The returned error wraps
// one of ErrTargetUnreachable, ErrHostKeyMismatch or ErrUpstreamAuth when
// that is the cause.
func (u *Upstream) Dial(ctx context.Context, r DialRequest) (*ssh.Client, error) {
	hostKeyCallback, algos, err := hostKeyCheck(r.Target)
	if err != nil {
		return nil, err
	}
	auth, err := u.credential(r)
	if err != nil {
		return nil, err
	}
	timeout := u.DialTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", r.Target.Address)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTargetUnreachable, err)
	}
	// The handshake honours the same deadline as the dial, and ends when
	// ctx does (the client went away, or its connection was ended).
	deadline, _ := ctx.Deadline()
	_ = nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	cc, chans, reqs, err := ssh.NewClientConn(nc, r.Target.Address, &ssh.ClientConfig{
		User:              r.Login,
		Auth:              []ssh.AuthMethod{auth},
		HostKeyCallback:   hostKeyCallback,
		HostKeyAlgorithms: algos,
		Timeout:           timeout,
		ClientVersion:     "SSH-2.0-bastion",
	})
	if err != nil {
		nc.Close()
		return nil, classifyHandshake(err)
	}
	_ = nc.SetDeadline(time.Time{})
	return ssh.NewClient(cc, chans, reqs), nil
}

func classifyHandshake(err error) error {
	switch {
	case errors.Is(err, ErrHostKeyMismatch):
		return err
	case strings.Contains(err.Error(), "unable to authenticate"):
		// x/crypto/ssh reports exhausted auth methods only as text.
		return fmt.Errorf("%w: %v", ErrUpstreamAuth, err)
	default:
		// Timeouts, resets and peers that do not speak SSH all mean the
		// target cannot be used right now.
		return fmt.Errorf("%w: %v", ErrTargetUnreachable, err)
	}
}

func (u *Upstream) credential(r DialRequest) (ssh.AuthMethod, error) {
	switch r.Target.Credential.Type {
	case config.CredentialKey:
		k := u.Keys[r.Target.Name]
		if k == nil {
			return nil, fmt.Errorf("server: no key loaded for target %s", r.Target.Name)
		}
		return ssh.PublicKeys(k), nil
	default:
		if u.TargetCA == nil {
			return nil, errors.New("server: no target CA configured")
		}
		// A fresh key per connection: nothing reusable outlives the session.
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("server: upstream key: %w", err)
		}
		signer, err := ssh.NewSignerFromKey(priv)
		if err != nil {
			return nil, err
		}
		cert, err := u.TargetCA.SignUpstream(certauth.UpstreamRequest{
			PublicKey: signer.PublicKey(),
			Login:     r.Login,
			Identity:  r.Identity,
			SessionID: r.SessionID,
		})
		if err != nil {
			return nil, err
		}
		certSigner, err := ssh.NewCertSigner(cert, signer)
		if err != nil {
			return nil, err
		}
		return ssh.PublicKeys(certSigner), nil
	}
}

// hostKeyCheck builds the host key callback for a target and the host key
// algorithms to offer, so the target presents the kind of key we can check.
// There is no path that skips verification.
func hostKeyCheck(t config.Target) (ssh.HostKeyCallback, []string, error) {
	switch {
	case t.HostKey != "":
		want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(t.HostKey))
		if err != nil {
			return nil, nil, fmt.Errorf("server: target %s host_key: %w", t.Name, err)
		}
		fixed := ssh.FixedHostKey(want)
		cb := func(host string, remote net.Addr, key ssh.PublicKey) error {
			if err := fixed(host, remote, key); err != nil {
				return fmt.Errorf("%w: %s presented %s, expected %s", ErrHostKeyMismatch, t.Name,
					ssh.FingerprintSHA256(key), ssh.FingerprintSHA256(want))
			}
			return nil
		}
		return cb, []string{want.Type()}, nil
	case t.KnownHosts != "":
		kh, err := knownhosts.New(t.KnownHosts)
		if err != nil {
			return nil, nil, fmt.Errorf("server: target %s known_hosts: %w", t.Name, err)
		}
		cb := func(host string, remote net.Addr, key ssh.PublicKey) error {
			if err := kh(host, remote, key); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrHostKeyMismatch, t.Name, err)
			}
			return nil
		}
		return cb, knownAlgorithms(kh, t.Address), nil
	case t.HostCA != "":
		ca, _, _, _, err := ssh.ParseAuthorizedKey([]byte(t.HostCA))
		if err != nil {
			return nil, nil, fmt.Errorf("server: target %s host_ca: %w", t.Name, err)
		}
		checker := &ssh.CertChecker{
			IsHostAuthority: func(auth ssh.PublicKey, _ string) bool {
				return string(auth.Marshal()) == string(ca.Marshal())
			},
		}
		cb := func(host string, remote net.Addr, key ssh.PublicKey) error {
			if err := checker.CheckHostKey(host, remote, key); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrHostKeyMismatch, t.Name, err)
			}
			return nil
		}
		return cb, []string{
			ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01,
			ssh.CertAlgoECDSA521v01, ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01,
		}, nil
	}
	return nil, nil, fmt.Errorf("server: target %s has no host key verification configured", t.Name)
}

// knownAlgorithms asks the known_hosts callback which key types it holds for
// addr (it lists them in KeyError.Want when shown a key it does not know),
// so the handshake negotiates a key type that can actually be verified.
func knownAlgorithms(kh ssh.HostKeyCallback, addr string) []string {
	_, probe, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(probe)
	if err != nil {
		return nil
	}
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if !errors.As(kh(addr, tcp, signer.PublicKey()), &ke) {
		return nil
	}
	var algos []string
	for _, k := range ke.Want {
		switch k.Key.Type() {
		case ssh.KeyAlgoRSA:
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
		default:
			algos = append(algos, k.Key.Type())
		}
	}
	return algos
}
