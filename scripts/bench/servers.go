package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// server is a long-running process of the set-up: sshd or the bastion.
type server struct {
	cmd  *exec.Cmd
	pid  int
	port int
	done chan struct{} // closed once it has exited
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startServer starts a long-running process and waits until it listens.
// It is not tied to ctx: close stops it in order, after the clients.
func (e *env) startServer(ctx context.Context, cmd *exec.Cmd, port int) (*server, error) {
	// Its own process group: a Ctrl-C at the terminal reaches the harness,
	// which then stops the servers in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, pid: cmd.Process.Pid, port: port, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	return s, waitListening(ctx, s, port)
}

// waitListening waits until s accepts connections on port.
func waitListening(ctx context.Context, s *server, port int) error {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("%s exited during start-up", s.cmd.Args[0])
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listening on %s", addr)
		}
	}
}

func writeKnownHosts(path string, port int, key ssh.PublicKey) error {
	line := fmt.Sprintf("[127.0.0.1]:%d %s", port, ssh.MarshalAuthorizedKey(key))
	return os.WriteFile(path, []byte(line), 0o600)
}
