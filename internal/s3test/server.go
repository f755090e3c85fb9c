// Package s3test runs a real S3-compatible server for tests: versitygw
// with its POSIX backend, on a loopback port, storing objects in a
// temporary directory. Install it with `make deps`.
package s3test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
	t    testing.TB
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
	bin, err := binary()
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), Addr: freeAddr(t)}
	t.Cleanup(s.Stop)
	s.Start()
	return s
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
func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Start (re)starts a stopped server on the same port and directory and
// waits until it answers S3 requests.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	s.out = &lockedBuffer{}
	cmd := exec.Command(s.bin, "--access", AccessKey, "--secret", SecretKey, "--region", Region,
		"--port", s.Addr, "--quiet", "posix", s.dir)
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("s3test: start versitygw: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-done:
			s.cmd = nil
			s.t.Fatalf("s3test: versitygw exited at start: %s", s.out.String())
		default:
		}
		if s.ready() {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("s3test: versitygw not answering on %s after %v: %s", s.Addr, readyTimeout, s.out.String())
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

// ready reports whether the server answers an authenticated request.
func (s *Server) ready() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := s.Client().ListBuckets(ctx)
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
	c, err := minio.New(s.Addr, &minio.Options{
		Creds:      credentials.NewStaticV4(AccessKey, SecretKey, ""),
		Region:     Region,
		MaxRetries: 1,
	})
	if err != nil {
		s.t.Fatalf("s3test: client: %v", err)
	}
	return c
}

// Bucket creates a bucket and returns its name.
func (s *Server) Bucket(name string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := s.Client().MakeBucket(ctx, name, minio.MakeBucketOptions{Region: Region}); err != nil {
		s.t.Fatalf("s3test: make bucket %s: %v", name, err)
	}
	return name
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
