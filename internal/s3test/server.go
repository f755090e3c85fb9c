// Package s3test runs a real S3-compatible server for tests: versitygw
// with its POSIX backend, on a loopback port, storing objects in a
// temporary directory. Install it with `make deps`.
package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Fixed test credentials of the server's root user.
const (
	AccessKey = "bastion-test-access"
	SecretKey = "bastion-test-secret-0123456789"
	Region    = "us-east-1"
)

// readyTimeout bounds how long a starting server may take to answer.
const readyTimeout = 30 * time.Second

// Server is one versitygw process. Stop and Start may be called
// repeatedly; the server keeps its port and its data across them.
type Server struct {
	t    testing.TB // nil for a server from Launch
	bin  string
	dir  string // objects, one folder per bucket
	Addr string // host:port of the S3 API

	mu   sync.Mutex
	cmd  *exec.Cmd // nil when stopped
	done chan struct{}
	out  *lockedBuffer
}

// Start starts a server with a fresh data directory and stops it when the
// test ends. It fails the test, naming the fix, if versitygw is missing.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := Launch(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.t = t
	t.Cleanup(s.Stop)
	return s
}

// Launch starts a server outside a test (the benchmark harness drives a
// cluster with it), storing objects in dir; the caller stops it with Stop.
// Such a server returns its errors: use MakeBucket and NewClient on it, not
// Bucket, Client or Start, which fail a test.
func Launch(dir string) (*Server, error) {
	bin, err := binary()
	if err != nil {
		return nil, fmt.Errorf("s3test: %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir, Addr: addr}
	return s, s.launch()
}

// binary finds versitygw on PATH or in $(go env GOPATH)/bin, where
// `go install` puts it.
func binary() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "versitygw")
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", errors.New("versitygw not found on PATH or in $(go env GOPATH)/bin; install it with `make deps` " +
		"(go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)")
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("s3test: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Start (re)starts a stopped server on the same port and directory and
// waits until it answers S3 requests.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.launch(); err != nil {
		s.t.Fatal(err)
	}
}

// launch is Start returning its error; a server that does not answer in
// time is killed.
func (s *Server) launch() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	s.out = &lockedBuffer{}
	cmd := exec.Command(s.bin, "--access", AccessKey, "--secret", SecretKey, "--region", Region,
		"--port", s.Addr, "--quiet", "posix", s.dir)
	cmd.Stdout, cmd.Stderr = s.out, s.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // no server outlives a killed test binary
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("s3test: start versitygw: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("s3test: versitygw exited at start: %s", s.out.String())
		default:
		}
		if s.ready() {
			return nil
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			s.cmd = nil
			return fmt.Errorf("s3test: versitygw not answering on %s after %v: %s", s.Addr, readyTimeout, s.out.String())
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

// ready reports whether the server answers an authenticated request.
func (s *Server) ready() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := s.NewClient()
	if err != nil {
		return false
	}
	_, err = c.ListBuckets(ctx)
	return err == nil
}

// Stop kills the server, as a crash or a network outage would end it, and
// waits for it to exit. Its data stays.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Client returns a client of the server as its root user.
func (s *Server) Client() *minio.Client {
	c, err := s.NewClient()
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// NewClient is Client returning its error.
func (s *Server) NewClient() (*minio.Client, error) {
	c, err := minio.New(s.Addr, &minio.Options{
		Creds:      credentials.NewStaticV4(AccessKey, SecretKey, ""),
		Region:     Region,
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("s3test: client: %w", err)
	}
	return c, nil
}

// Bucket creates a bucket and returns its name.
func (s *Server) Bucket(name string) string {
	s.t.Helper()
	if err := s.MakeBucket(name); err != nil {
		s.t.Fatal(err)
	}
	return name
}

// MakeBucket is Bucket returning its error.
func (s *Server) MakeBucket(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	c, err := s.NewClient()
	if err != nil {
		return err
	}
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: Region}); err != nil {
		return fmt.Errorf("s3test: make bucket %s: %w", name, err)
	}
	return nil
}

// Dir is where the server keeps objects: DIR/BUCKET/KEY.
func (s *Server) Dir() string { return s.dir }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
