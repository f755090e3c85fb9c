// Package pgtest runs a throwaway PostgreSQL server for tests: initdb into
// a temporary directory, postgres on a free loopback port, stopped and
// removed when the tests end. It is the real server (Debian's postgresql
// package, or binaries in /usr/local/bin), not a stand-in.
//
// PostgreSQL refuses to run as root, so when the tests run as root the
// server runs as the "postgres" user, in a directory that user owns.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Named bounds on the server's start and stop.
const (
	startTimeout = 60 * time.Second // initdb and the first connection, on a busy machine
	stopTimeout  = 20 * time.Second // a fast shutdown, before SIGKILL
	superuser    = "bastion"
)

// RequireEnv, when set (make test sets it), turns missing PostgreSQL
// binaries into a test failure instead of a skip.
const RequireEnv = "BASTION_REQUIRE_POSTGRES"

// Server is one running PostgreSQL.
type Server struct {
	dir  string
	port int
	cmd  *exec.Cmd
	// exited is closed when the server process has exited (its Wait runs
	// on a goroutine from the start, so an early exit is noticed).
	exited <-chan struct{}
	log    string
	next   atomic.Int64 // numbers the databases NewDatabase creates

	stopOnce sync.Once
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Shared returns the package's one server, started on first use;
// StopShared stops it (call it from TestMain after m.Run). If it cannot start, t
// fails (or skips, when the binaries are missing and RequireEnv is unset).
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = start() })
	check(t, sharedErr)
	return shared
}

// StopShared stops the shared server, if it was started.
func StopShared() {
	if shared != nil {
		shared.Stop()
	}
}

// Start starts a server of the test's own, stopped in t.Cleanup (or
// earlier by Stop, to see what its clients do when it is gone).
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := start()
	check(t, err)
	t.Cleanup(s.Stop)
	return s
}

// errNoBinaries says that PostgreSQL is not installed.
var errNoBinaries = errors.New("pgtest: PostgreSQL binaries (initdb, postgres) not found in /usr/local/bin or /usr/lib/postgresql/*/bin; install them with `make deps` (Debian package postgresql)")

func check(t testing.TB, err error) {
	t.Helper()
	switch {
	case err == nil:
	case errors.Is(err, errNoBinaries) && os.Getenv(RequireEnv) == "":
		t.Skip(err)
	default:
		t.Fatal(err)
	}
}

// Launch starts a server outside a test (the benchmark harness drives a
// cluster with it); the caller stops it with Stop.
func Launch() (*Server, error) { return start() }

// NewDatabase creates an empty database and returns its connection string.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	dsn, err := s.CreateDatabase()
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// CreateDatabase is NewDatabase returning its error, for use outside a test.
func (s *Server) CreateDatabase() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	name := fmt.Sprintf("test_%d", s.next.Add(1))
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("pgtest: create database: %w", err)
	}
	return s.DSN(name), nil
}

// DSN is the connection string of database db on this server.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, s.port, db)
}

// binDir finds the directory holding initdb and postgres: /usr/local/bin,
// else the newest /usr/lib/postgresql/N/bin (Debian's layout).
func binDir() (string, error) {
	dirs := []string{"/usr/local/bin"}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(versions, func(i, j int) bool { return pgVersion(versions[i]) > pgVersion(versions[j]) })
	for _, d := range append(dirs, versions...) {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errNoBinaries
}

func pgVersion(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// runAs returns the credential the server runs under: none when the tests
// are not root, else the postgres user's.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: tests run as root and PostgreSQL refuses to: need the user \"postgres\" (Debian's postgresql package creates it): %w", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bastion-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{dir: dir, log: filepath.Join(dir, "postgres.log")}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := command(cred, filepath.Join(bin, "initdb"), "-D", data, "-U", superuser, "--auth=trust",
		"-E", "UTF8", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}
	// A free port can be taken between asking and listening: try a few.
	for range 3 {
		if err = s.run(bin, cred, data); err == nil {
			return s, nil
		}
	}
	os.RemoveAll(dir)
	return nil, err
}

// run starts postgres on a free loopback port and waits until it accepts
// connections.
func (s *Server) run(bin string, cred *syscall.Credential, data string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.port = port
	logf, err := os.Create(s.log)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close()
	// fsync off: a test database need not survive a power cut.
	s.cmd = command(cred, filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-h", "127.0.0.1", "-k", s.dir, "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL // no server outlives a killed test binary
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	exited := make(chan struct{})
	var werr error
	go func() { werr = s.cmd.Wait(); close(exited) }()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			conn.Close(ctx)
			s.exited = exited
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("pgtest: postgres exited (%v) before accepting connections:\n%s", werr, s.logTail())
		case <-ctx.Done():
			s.cmd.Process.Kill() //nolint:errcheck
			<-exited
			return fmt.Errorf("pgtest: postgres did not accept connections within %s:\n%s", startTimeout, s.logTail())
		case <-time.After(50 * time.Millisecond): // poll interval while the server starts
		}
	}
}

// Stop shuts the server down (SIGINT: PostgreSQL's fast shutdown), kills
// it if it does not stop in time, and removes its directory. Calls after
// the first do nothing.
func (s *Server) Stop() { s.stopOnce.Do(s.stop) }

func (s *Server) stop() {
	defer os.RemoveAll(s.dir)
	s.cmd.Process.Signal(syscall.SIGINT) //nolint:errcheck // it may be gone already
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		s.cmd.Process.Kill() //nolint:errcheck
		<-s.exited
	}
}

func command(cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if cred != nil {
		cmd.Dir = "/" // root's working directory may not be readable by postgres
	}
	return cmd
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// logTail is the end of the server's log, for a failure message.
func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
