package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
)

const (
	sshdPath   = "/usr/sbin/sshd"
	modulePath = "github.com/bastion-ssh/bastion"
	identity   = "bench@example.com"
)

const benchPolicy = `access:
  - name: bench-ops
    groups: [ops]
    targets: ["*"]
    logins: [root]
`

// side is one of the two paths from the client to the target.
type side int

const (
	direct side = iota
	viaBastion
)

var sides = []side{direct, viaBastion}

func (s side) String() string {
	if s == viaBastion {
		return "bastion"
	}
	return "direct"
}

// server is a long-running process of the set-up: sshd or the bastion.
type server struct {
	cmd        *exec.Cmd
	pid        int
	port       int
	knownHosts string // known_hosts file with its host key
	done       chan struct{}
}

// env is the machinery of one run: the target, the bastion, the client's
// credentials and the files the scenarios use.
type env struct {
	opt   options
	procs *procSet

	root string // module root
	dir  string // work directory
	bin  string // the bastion binary

	sshd    *server
	bastion *server
	dataDir string // the bastion's data directory
	logFile *os.File

	clientKey   string
	bastionCert string // from the bastion's user CA: identity, group ops
	directCert  string // from the target CA: principal root

	textFile string // base64 text for the text download
	scpSrc   string // the file scp uploads
	scpDir   string // where scp uploads go

	closeOnce sync.Once
}

func (e *env) setup(ctx context.Context) error {
	var err error
	if e.root, err = moduleRoot(); err != nil {
		return err
	}
	if e.dir, err = os.MkdirTemp("", "bastion-bench-"); err != nil {
		return err
	}
	e.bin = filepath.Join(e.dir, "bastion")
	build := command(ctx, goTool(), "build", "-o", e.bin, "./cmd/bastion")
	build.Dir = e.root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/bastion: %v\n%s", err, out)
	}
	bdir := filepath.Join(e.dir, "bastion-conf")
	keys := map[string]ssh.Signer{}
	for _, name := range []string{"host_key", "user_ca", "target_ca", "signing_key"} {
		if keys[name], err = certauth.LoadOrCreateKey(filepath.Join(bdir, name)); err != nil {
			return err
		}
	}
	if err := e.startSSHD(ctx, keys["target_ca"].PublicKey()); err != nil {
		return fmt.Errorf("sshd: %w", err)
	}
	if err := e.startBastion(ctx, bdir, keys["host_key"].PublicKey()); err != nil {
		return fmt.Errorf("bastion: %w", err)
	}
	if err := e.clientCredentials(keys["user_ca"], keys["target_ca"]); err != nil {
		return err
	}
	return e.dataFiles()
}

// moduleRoot finds this module's directory from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module "+modulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the " + modulePath + " module")
		}
		dir = parent
	}
}

// goTool is the go command: from PATH, or the toolchain that built us.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	for _, p := range []string{os.Getenv("GOROOT") + "/bin/go", "/usr/local/go/bin/go"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
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
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-s.done:
			return s, fmt.Errorf("%s exited during start-up", cmd.Args[0])
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("nothing listening on %s", addr)
		}
	}
}

func writeKnownHosts(path string, port int, key ssh.PublicKey) error {
	line := fmt.Sprintf("[127.0.0.1]:%d %s", port, ssh.MarshalAuthorizedKey(key))
	return os.WriteFile(path, []byte(line), 0o600)
}

// startSSHD runs the target: a stock sshd trusting the target CA.
func (e *env) startSSHD(ctx context.Context, targetCA ssh.PublicKey) error {
	dir := filepath.Join(e.dir, "sshd")
	hostKey, err := certauth.LoadOrCreateKey(filepath.Join(dir, "host_key"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pub"), ssh.MarshalAuthorizedKey(targetCA), 0o644); err != nil {
		return err
	}
	_ = os.MkdirAll("/run/sshd", 0o755) // privilege separation directory
	// Sessions get an empty HOME: the login user's shell start-up files
	// (bash reads ~/.bashrc under sshd) would add their own cost, and
	// possibly background processes holding the session open, to both
	// paths alike.
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %[2]s/host_key
PidFile %[2]s/sshd.pid
TrustedUserCAKeys %[2]s/ca.pub
AuthorizedKeysFile none
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
UseDNS no
X11Forwarding no
PrintMotd no
PrintLastLog no
MaxStartups 2000
MaxSessions 64
LogLevel INFO
SetEnv HOME=%[2]s/home
Subsystem sftp internal-sftp
`, port, dir)
	cfgPath := filepath.Join(dir, "sshd_config")
	// Newer sshd penalises sources that open many connections; the
	// harness opens hundreds from 127.0.0.1 on purpose. Older versions do
	// not know the option, so it is added only when sshd accepts it.
	for _, extra := range []string{"PerSourcePenalties no\n", ""} {
		if err := os.WriteFile(cfgPath, []byte(cfg+extra), 0o600); err != nil {
			return err
		}
		if command(ctx, sshdPath, "-t", "-f", cfgPath).Run() == nil {
			break
		}
	}
	cmd := exec.Command(sshdPath, "-D", "-f", cfgPath, "-E", filepath.Join(dir, "sshd.log"))
	if e.sshd, err = e.startServer(ctx, cmd, port); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "sshd.log"))
		return fmt.Errorf("%w\n%s", err, b)
	}
	return writeKnownHosts(filepath.Join(e.dir, "known_hosts.direct"), port, hostKey.PublicKey())
}

// startBastion runs `bastion serve --config` in front of the target.
func (e *env) startBastion(ctx context.Context, dir string, hostKey ssh.PublicKey) error {
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(benchPolicy), 0o600); err != nil {
		return err
	}
	pub, err := os.ReadFile(filepath.Join(e.dir, "sshd", "host_key.pub"))
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	e.dataDir = filepath.Join(dir, "data")
	cfg := fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: data
host_key: host_key
user_ca_key: user_ca
target_ca_key: target_ca
signing_key: signing_key
policy: policy.yaml
limits:
  dial_timeout: 10s
targets:
  - name: target
    address: "127.0.0.1:%d"
    host_key: %q
    login: root
`, port, e.sshd.port, strings.TrimSpace(string(pub)))
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	if e.logFile, err = os.Create(filepath.Join(e.dir, "bastion.log")); err != nil {
		return err
	}
	cmd := exec.Command(e.bin, "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = e.logFile, e.logFile
	if e.bastion, err = e.startServer(ctx, cmd, port); err != nil {
		b, _ := os.ReadFile(e.logFile.Name())
		return fmt.Errorf("%w\n%s", err, b)
	}
	return writeKnownHosts(filepath.Join(e.dir, "known_hosts.bastion"), port, hostKey)
}

// clientCredentials makes the client key and its two certificates.
func (e *env) clientCredentials(userCA, targetCA ssh.Signer) error {
	e.clientKey = filepath.Join(e.dir, "client", "id_ed25519")
	key, err := certauth.LoadOrCreateKey(e.clientKey)
	if err != nil {
		return err
	}
	sign := func(ca ssh.Signer, r certauth.UserRequest, path string) error {
		r.PublicKey, r.Identity, r.TTL = key.PublicKey(), identity, 12*time.Hour
		cert, err := (&certauth.Authority{Signer: ca}).SignUser(r)
		if err != nil {
			return err
		}
		return os.WriteFile(path, ssh.MarshalAuthorizedKey(cert), 0o644)
	}
	e.bastionCert = filepath.Join(e.dir, "client", "bastion.cert")
	e.directCert = filepath.Join(e.dir, "client", "direct.cert")
	if err := sign(userCA, certauth.UserRequest{Groups: []string{"ops"}}, e.bastionCert); err != nil {
		return err
	}
	return sign(targetCA, certauth.UserRequest{Login: "root"}, e.directCert)
}

// dataFiles writes the base64 text for the text download and the file
// scp uploads.
func (e *env) dataFiles() error {
	e.textFile = filepath.Join(e.dir, "text.b64")
	f, err := os.Create(e.textFile)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := base64.NewEncoder(base64.StdEncoding, &lineWriter{w: w, width: 76})
	r := rand.NewChaCha8([32]byte{1})
	raw := make([]byte, 57*1024) // 57 bytes encode to one 76-character line
	for left := e.opt.textBytes * 57 / 77; left > 0; left -= int64(len(raw)) {
		n := min(int64(len(raw)), left)
		_, _ = r.Read(raw[:n])
		if _, err := enc.Write(raw[:n]); err != nil {
			f.Close()
			return err
		}
	}
	if err := enc.Close(); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	e.scpSrc = filepath.Join(e.dir, "scp-src.bin")
	if err := writeZeros(e.scpSrc, e.opt.xferBytes); err != nil {
		return err
	}
	e.scpDir = filepath.Join(e.dir, "scp-dst")
	return os.MkdirAll(e.scpDir, 0o755)
}

// lineWriter breaks its input into lines of width characters.
type lineWriter struct {
	w     *bufio.Writer
	width int
	col   int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	for _, c := range p {
		if l.col == l.width {
			if err := l.w.WriteByte('\n'); err != nil {
				return 0, err
			}
			l.col = 0
		}
		if err := l.w.WriteByte(c); err != nil {
			return 0, err
		}
		l.col++
	}
	return len(p), nil
}

func writeZeros(path string, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(buf)) {
		if _, err := f.Write(buf[:min(int64(len(buf)), left)]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// sshOpts are the options every ssh and scp of a path gets.
func (e *env) sshOpts(s side, cipher string) []string {
	cert, kh := e.directCert, filepath.Join(e.dir, "known_hosts.direct")
	if s == viaBastion {
		cert, kh = e.bastionCert, filepath.Join(e.dir, "known_hosts.bastion")
	}
	return []string{
		"-F", "/dev/null", "-c", cipher,
		"-o", "Compression=no", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
		"-o", "IdentityFile=" + e.clientKey, "-o", "CertificateFile=" + cert,
		"-o", "UserKnownHostsFile=" + kh, "-o", "StrictHostKeyChecking=yes",
		"-o", "UpdateHostKeys=no", "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR",
	}
}

// port is where the client connects on a path.
func (e *env) port(s side) int {
	if s == viaBastion {
		return e.bastion.port
	}
	return e.sshd.port
}

// login is the user part of the destination: the bastion takes the target
// from it (LOGIN@TARGET@BASTION).
func login(s side) string {
	if s == viaBastion {
		return "root@target"
	}
	return "root"
}

// sshArgs is a complete ssh command line; extra goes before the
// destination (e.g. -tt), remote after it.
func (e *env) sshArgs(s side, cipher string, extra []string, remote string) []string {
	args := append(e.sshOpts(s, cipher), "-p", fmt.Sprint(e.port(s)))
	args = append(args, extra...)
	return append(args, login(s)+"@127.0.0.1", remote)
}

// scpArgs copies src to the target path dst.
func (e *env) scpArgs(s side, cipher, src, dst string) []string {
	args := append(e.sshOpts(s, cipher), "-q", "-P", fmt.Sprint(e.port(s)))
	return append(args, src, login(s)+"@127.0.0.1:"+dst)
}

// close ends everything the run started: clients first, then the bastion
// (gracefully, so it closes its recordings), then sshd and whatever
// per-connection processes it still has.
func (e *env) close() {
	e.closeOnce.Do(func() {
		e.procs.killAll()
		if b := e.bastion; b != nil {
			_ = b.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-b.done:
			case <-time.After(15 * time.Second):
				_ = b.cmd.Process.Kill()
				<-b.done
			}
		}
		if s := e.sshd; s != nil {
			left := descendants(s.pid)
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			for _, p := range left {
				_ = syscall.Kill(p.pid, syscall.SIGKILL)
			}
			select {
			case <-s.done:
			case <-time.After(5 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.done
			}
		}
		if e.logFile != nil {
			e.logFile.Close()
		}
		if e.dir != "" {
			if e.opt.keepWorkDir {
				logf(e.opt.log, "kept %s", e.dir)
			} else {
				os.RemoveAll(e.dir)
			}
		}
	})
}
