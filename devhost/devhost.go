// Package devhost is the demo target host that `bastion dev` starts: a
// small SSH server that runs a real shell in a pseudo-terminal
// (creack/pty), accepts only certificates from the bastion's target CA,
// and serves sftp. It exists so the whole product runs on one machine with
// no setup; production targets run stock OpenSSH.
package devhost

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"

	"github.com/creack/pty"
	gliderssh "github.com/gliderlabs/ssh"
	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"
)

// Host is a running demo target.
type Host struct {
	srv *gliderssh.Server
	ln  net.Listener
}

// Config for a demo host.
type Config struct {
	HostKey  gossh.Signer
	TargetCA gossh.PublicKey // only certificates signed by it are accepted
	Login    string          // the one login name accepted
	Shell    string          // defaults to /bin/bash, else /bin/sh
	// Account runs sessions (shell, commands, sftp) as this user, in its
	// home. If nil, they run as the host process's own user in Dir.
	Account *Account
	Dir     string // working directory for sessions without an Account
}

// sftpServers are where Debian, Fedora and Alpine put OpenSSH's
// sftp-server, which serves sftp as the account the session runs as.
var sftpServers = []string{"/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/lib/ssh/sftp-server"}

// command is name with args, run as the session's account in its home,
// with a fresh environment: nothing of the bastion's own environment
// (tokens, paths into its data directory) leaks to the session.
func (cfg Config) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	home, user := cfg.Dir, os.Getenv("USER")
	if a := cfg.Account; a != nil {
		home, user = a.Home, a.Name
		// Groups empty: setgroups drops root's supplementary groups too.
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: a.UID, Gid: a.GID, Groups: []uint32{}}}
	}
	cmd.Dir = home
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + home, "USER=" + user, "LOGNAME=" + user, "SHELL=" + cfg.Shell,
	}
	return cmd
}

// serveSFTP serves the sftp subsystem: OpenSSH's sftp-server as the
// session's account, or in process when sessions run as the host's user.
func serveSFTP(s gliderssh.Session, cfg Config) {
	if cfg.Account == nil {
		srv, err := sftp.NewServer(s, sftp.WithServerWorkingDirectory(cfg.Dir))
		if err != nil {
			_ = s.Exit(1)
			return
		}
		_ = s.Exit(exitOf(srv.Serve()))
		return
	}
	for _, path := range sftpServers {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		cmd := cfg.command(path, "-d", cfg.Account.Home)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s.Stderr()
		_ = s.Exit(exitOf(cmd.Run()))
		return
	}
	// Serving in process would serve as root: refuse instead.
	fmt.Fprintln(s.Stderr(), "demo host: no sftp-server found (install openssh-server)")
	_ = s.Exit(1)
}

// Start listens on addr (e.g. 127.0.0.1:0) and serves until Close.
func Start(addr string, cfg Config) (*Host, error) {
	if cfg.Shell == "" {
		cfg.Shell = "/bin/bash"
		if _, err := os.Stat(cfg.Shell); err != nil {
			cfg.Shell = "/bin/sh"
		}
	}
	checker := &gossh.CertChecker{
		IsUserAuthority: func(k gossh.PublicKey) bool {
			return string(k.Marshal()) == string(cfg.TargetCA.Marshal())
		},
	}
	srv := &gliderssh.Server{
		HostSigners: []gliderssh.Signer{cfg.HostKey},
		Version:     "bastion-demo-host",
		PublicKeyHandler: func(ctx gliderssh.Context, key gliderssh.PublicKey) bool {
			cert, ok := key.(*gossh.Certificate)
			if !ok || ctx.User() != cfg.Login {
				return false
			}
			return checker.CheckCert(cfg.Login, cert) == nil
		},
		Handler: func(s gliderssh.Session) { runSession(s, cfg) },
		SubsystemHandlers: map[string]gliderssh.SubsystemHandler{
			"sftp": func(s gliderssh.Session) { serveSFTP(s, cfg) },
		},
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("devhost: %w", err)
	}
	h := &Host{srv: srv, ln: ln}
	go func() { _ = srv.Serve(ln) }()
	return h, nil
}

// Addr is the address the host listens on.
func (h *Host) Addr() string { return h.ln.Addr().String() }

// Close stops the host.
func (h *Host) Close() error { return h.srv.Close() }

func runSession(s gliderssh.Session, cfg Config) {
	var cmd *exec.Cmd
	if raw := s.RawCommand(); raw != "" {
		cmd = cfg.command(cfg.Shell, "-c", raw)
	} else {
		cmd = cfg.command(cfg.Shell, "-l")
	}
	cmd.Env = append(cmd.Env, s.Environ()...)
	ptyReq, winCh, isPty := s.Pty()
	if isPty {
		cmd.Env = append(cmd.Env, "TERM="+ptyReq.Term, "PS1=demo$ ")
		f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(ptyReq.Window.Width), Rows: uint16(ptyReq.Window.Height)})
		if err != nil {
			fmt.Fprintf(s.Stderr(), "demo host: %v\n", err)
			_ = s.Exit(127)
			return
		}
		go func() {
			for w := range winCh {
				_ = pty.Setsize(f, &pty.Winsize{Cols: uint16(w.Width), Rows: uint16(w.Height)})
			}
		}()
		go func() { _, _ = io.Copy(f, s) }()
		_, _ = io.Copy(s, f) // ends with EIO when the shell exits
		_ = s.Exit(exitOf(cmd.Wait()))
		return
	}
	cmd.Stdout, cmd.Stderr = s, s.Stderr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		_ = s.Exit(127)
		return
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(s.Stderr(), "demo host: %v\n", err)
		_ = s.Exit(127)
		return
	}
	go func() {
		_, _ = io.Copy(stdin, s)
		stdin.Close()
	}()
	sigs := make(chan gliderssh.Signal, 1)
	s.Signals(sigs)
	go func() {
		for sig := range sigs {
			if n, ok := signals[sig]; ok {
				_ = cmd.Process.Signal(n)
			}
		}
	}()
	_ = s.Exit(exitOf(cmd.Wait()))
}

var signals = map[gliderssh.Signal]syscall.Signal{
	gliderssh.SIGINT: syscall.SIGINT, gliderssh.SIGTERM: syscall.SIGTERM,
	gliderssh.SIGKILL: syscall.SIGKILL, gliderssh.SIGHUP: syscall.SIGHUP,
}

func exitOf(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return 0
	case errors.As(err, &ee):
		if ee.ExitCode() >= 0 {
			return ee.ExitCode()
		}
		return 128 + int(ee.Sys().(syscall.WaitStatus).Signal())
	}
	return 1
}
