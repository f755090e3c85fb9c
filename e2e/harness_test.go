// Package e2e drives the real OpenSSH client through a real bastion
// process to a real sshd, all on loopback ports.
package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
)

// bastionBin is the binary built once for all tests.
var bastionBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bastion-e2e-bin")
	if err != nil {
		panic(err)
	}
	bastionBin = filepath.Join(dir, "bastion")
	build := exec.Command("go", "build", "-o", bastionBin, "../cmd/bastion")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building bastion:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make test installs it)", tool)
		}
	}
}

// writeKey generates an ed25519 key and writes it (and .pub) to path.
func writeKey(t *testing.T, path string) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(s.PublicKey()), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// ensureKey returns the key at path, generating it first if there is none
// (nodes of one cluster are given copies of the same keys).
func ensureKey(t *testing.T, path string) ssh.Signer {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return writeKey(t, path)
	}
	s, err := certauth.LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitPort(t *testing.T, addr string, p *os.Process) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listening on %s", addr)
}

// sshd is a real OpenSSH server acting as a target host.
type sshd struct {
	addr    string
	dir     string
	log     string
	hostKey ssh.PublicKey
}

// startSSHD runs /usr/sbin/sshd trusting caPub for user certificates.
func startSSHD(t *testing.T, caPub ssh.PublicKey) *sshd {
	t.Helper()
	return startSSHDWith(t, caPub, "Subsystem sftp internal-sftp\nAcceptEnv LANG LC_*\n")
}

// startSSHDWith is startSSHD with its own Subsystem, AcceptEnv and any
// other lines in extra.
func startSSHDWith(t *testing.T, caPub ssh.PublicKey, extra string) *sshd {
	t.Helper()
	requireTools(t, "/usr/sbin/sshd")
	if os.Getuid() != 0 {
		t.Skip("sshd as a target needs root (to switch users)")
	}
	dir := t.TempDir()
	hostKey := writeKey(t, filepath.Join(dir, "host_key"))
	if err := os.WriteFile(filepath.Join(dir, "ca.pub"), ssh.MarshalAuthorizedKey(caPub), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.MkdirAll("/run/sshd", 0o755) // privilege separation directory
	port := freePort(t)
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
AllowTcpForwarding yes
LogLevel VERBOSE
PrintMotd no
PrintLastLog no
%[3]s`, port, dir, extra)
	cfgPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "sshd.log")
	cmd := exec.Command("/usr/sbin/sshd", "-D", "-f", cfgPath, "-E", logPath)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	s := &sshd{addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir, log: logPath, hostKey: hostKey.PublicKey()}
	waitPort(t, s.addr, cmd.Process)
	return s
}

func (s *sshd) logText(t *testing.T) string {
	t.Helper()
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// bastion is a `bastion serve` process with its own data directory.
type bastion struct {
	dir     string
	addr    string
	port    int
	config  string
	userCA  *certauth.Authority
	hostKey ssh.PublicKey
	stderr  *syncBuffer
	stop    func()    // stops the bastion (SIGINT) and waits for it; safe to call twice
	proc    *exec.Cmd // the `bastion serve` process, for tests that signal it themselves
}

type bastionOptions struct {
	targets      string // YAML list items under targets:
	policy       string
	recordingDir string // optional override
	extra        string // more top-level config YAML
	limits       string // more lines under limits:, each indented by two spaces
	// sshdConfig, for a gateway, replaces its target sshd's Subsystem and
	// AcceptEnv lines (startSSHDWith).
	sshdConfig string
}

func startBastion(t *testing.T, dir string, o bastionOptions) *bastion {
	t.Helper()
	hostKey := ensureKey(t, filepath.Join(dir, "host_key"))
	userCA := ensureKey(t, filepath.Join(dir, "user_ca"))
	ensureKey(t, filepath.Join(dir, "signing_key"))
	ensureKey(t, filepath.Join(dir, "target_ca"))
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(o.policy), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	rec := ""
	if o.recordingDir != "" {
		rec = "recording:\n  dir: " + o.recordingDir + "\n"
	}
	cfg := fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: .
host_key: host_key
user_ca_key: user_ca
target_ca_key: target_ca
signing_key: signing_key
policy: policy.yaml
limits:
  dial_timeout: 3s
%s%s%stargets:
%s`, port, o.limits, rec, o.extra, o.targets)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &bastion{dir: dir, port: port, addr: fmt.Sprintf("127.0.0.1:%d", port), config: cfgPath,
		userCA: &certauth.Authority{Signer: userCA}, hostKey: hostKey.PublicKey(), stderr: &syncBuffer{}}
	cmd := exec.Command(bastionBin, "serve", "--config", cfgPath)
	cmd.Stderr = b.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.proc = cmd
	var once sync.Once
	b.stop = func() {
		once.Do(func() {
			cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				t.Errorf("bastion did not stop on SIGINT within 15s")
			}
		})
	}
	t.Cleanup(func() {
		b.stop()
		if t.Failed() {
			t.Logf("bastion log:\n%s", b.stderr.String())
		}
	})
	waitPort(t, b.addr, cmd.Process)
	known := fmt.Sprintf("[127.0.0.1]:%d %s", port, ssh.MarshalAuthorizedKey(hostKey.PublicKey()))
	if err := os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(known), 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

// targetCAPub returns the public key of the target CA in dir.
func targetCA(t *testing.T, dir string) ssh.Signer {
	t.Helper()
	s, err := certauth.LoadKey(filepath.Join(dir, "target_ca"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// client is a user key with a certificate.
type client struct {
	key  string // private key path
	cert string // certificate path
}

// newClient makes a key and signs a certificate for it with ca.
func newClient(t *testing.T, ca *certauth.Authority, r certauth.UserRequest) client {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	s := writeKey(t, key)
	r.PublicKey = s.PublicKey()
	cert, err := ca.SignUser(r)
	if err != nil {
		t.Fatal(err)
	}
	c := client{key: key, cert: key + "-cert.pub"}
	if err := os.WriteFile(c.cert, ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

// sshArgs are the options for stock ssh/scp/sftp to reach the bastion.
func (b *bastion) sshOpts(c client) []string {
	return []string{
		"-F", "/dev/null",
		"-o", "IdentitiesOnly=yes", "-o", "IdentityFile=" + c.key, "-o", "CertificateFile=" + c.cert,
		"-o", "UserKnownHostsFile=" + filepath.Join(b.dir, "known_hosts"), "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
	}
}

type result struct {
	stdout, stderr string
	code           int
}

// ssh runs the real ssh client as user@bastion with args.
func (b *bastion) ssh(t *testing.T, c client, user string, args ...string) result {
	t.Helper()
	all := append(b.sshOpts(c), "-p", fmt.Sprint(b.port), user+"@127.0.0.1")
	return runCmd(t, "ssh", append(all, args...)...)
}

func runCmd(t *testing.T, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %v: timed out", name, args)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// cli runs a bastion subcommand against b's data directory.
func (b *bastion) cli(t *testing.T, args ...string) string {
	t.Helper()
	args = append(args, "--data", b.dir)
	r := runCmd(t, bastionBin, args...)
	if r.code != 0 {
		t.Fatalf("bastion %v: exit %d: %s%s", args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

type auditEvent struct {
	Type       string         `json:"type"`
	Outcome    string         `json:"outcome"`
	Identity   string         `json:"identity"`
	SessionID  string         `json:"session_id"`
	SourceAddr string         `json:"source_addr"`
	Reason     string         `json:"reason"`
	Detail     map[string]any `json:"detail"`
}

func (b *bastion) audit(t *testing.T, typ string) []auditEvent {
	t.Helper()
	var evs []auditEvent
	if err := json.Unmarshal([]byte(b.cli(t, "audit", "--json", "--type", typ)), &evs); err != nil {
		t.Fatal(err)
	}
	// --type is a prefix (command matches command.denied too); tests ask
	// for one type exactly.
	exact := evs[:0]
	for _, e := range evs {
		if e.Type == typ {
			exact = append(exact, e)
		}
	}
	return exact
}

// waitAudit polls until an event of typ whose reason contains substr
// appears: sessions end asynchronously after the client exits.
func (b *bastion) waitAudit(t *testing.T, typ, substr string) auditEvent {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, e := range b.audit(t, typ) {
			if strings.Contains(e.Reason, substr) || strings.Contains(fmt.Sprint(e.Detail), substr) {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s audit event mentioning %q within 30s", typ, substr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// assertNothingAtRest fails if any of values is in a file under the data
// directory (recordings, manifests, the database and its WAL, the session
// log) or in the bastion's own log.
func (b *bastion) assertNothingAtRest(t *testing.T, values []string) {
	t.Helper()
	time.Sleep(500 * time.Millisecond) // let the last session's end be written
	filepath.Walk(b.dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		data, _ := os.ReadFile(path)
		for _, v := range values {
			if bytes.Contains(data, []byte(v)) {
				t.Errorf("%s holds %q", path, v)
			}
		}
		return nil
	})
	for _, v := range values {
		if strings.Contains(b.stderr.String(), v) {
			t.Errorf("the bastion's log holds %q", v)
		}
	}
}
