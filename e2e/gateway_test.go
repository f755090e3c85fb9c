package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
)

const testPolicy = `access:
  - name: ops-everywhere
    groups: [ops]
    targets: ["*"]
    logins: [root]
env_allow: [LANG]
`

// gateway is a bastion in front of a real sshd, plus targets that fail in
// the ways the negative tests need.
type gateway struct {
	*bastion
	sshd  *sshd
	alice client
}

func newGateway(t *testing.T) *gateway {
	t.Helper()
	return newGatewayIn(t, t.TempDir(), "")
}

// newGatewayIn builds the gateway in dir, with extra top-level config.
func newGatewayIn(t *testing.T, dir, extra string) *gateway {
	t.Helper()
	return newGatewayWith(t, dir, extra, testPolicy)
}

// newGatewayWith builds the gateway in dir with its own policy.
func newGatewayWith(t *testing.T, dir, extra, policy string) *gateway {
	t.Helper()
	return newGatewayOpts(t, dir, bastionOptions{extra: extra, policy: policy})
}

// newGatewayOpts builds the gateway in dir with o (its targets are set here).
func newGatewayOpts(t *testing.T, dir string, o bastionOptions) *gateway {
	t.Helper()
	requireTools(t, "ssh")
	ca := ensureKey(t, filepath.Join(dir, "target_ca"))
	d := startSSHD(t, ca.PublicKey())
	if o.sshdConfig != "" {
		d = startSSHDWith(t, ca.PublicKey(), o.sshdConfig)
	}
	wrongKey := writeKey(t, filepath.Join(t.TempDir(), "wrong"))
	hostKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(d.hostKey)))
	targets := fmt.Sprintf(`  - name: target
    address: %q
    host_key: %q
    login: root
  - name: down
    address: "127.0.0.1:%d"
    host_key: %q
    login: root
  - name: badkey
    address: %q
    host_key: %q
    login: root
`, d.addr, hostKey, freePort(t), hostKey, d.addr, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(wrongKey.PublicKey()))))
	o.targets = targets
	b := startBastion(t, dir, o)
	alice := newClient(t, b.userCA, certauth.UserRequest{Identity: "alice@example.com", Groups: []string{"ops"}})
	return &gateway{bastion: b, sshd: d, alice: alice}
}

type sessionRow struct {
	ID         string `json:"id"`
	Identity   string `json:"identity"`
	Target     string `json:"target"`
	Login      string `json:"login"`
	Kind       string `json:"kind"`
	Command    string `json:"command"`
	ExitStatus *int   `json:"exit_status"`
	ExitSignal string `json:"exit_signal"`
	Recording  string `json:"recording"`
	EndedAt    string `json:"ended_at"`
	Node       string `json:"node"`
}

func (g *gateway) sessions(t *testing.T) []sessionRow {
	t.Helper()
	var rows []sessionRow
	if err := json.Unmarshal([]byte(g.cli(t, "sessions", "list", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// waitSession waits until the session whose command is cmd has ended.
func (g *gateway) waitSession(t *testing.T, match func(sessionRow) bool) sessionRow {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, s := range g.sessions(t) {
			if match(s) && s.EndedAt != "" {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ended session matched; have %+v", g.sessions(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// asciinemaCat runs the stock `asciinema cat`, which insists on a
// controlling terminal, under a pty, and returns what it printed.
func asciinemaCat(t *testing.T, path string) string {
	t.Helper()
	requireTools(t, "asciinema")
	cmd := exec.Command("asciinema", "cat", path)
	f, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out strings.Builder
	_, _ = io.Copy(&out, f) // ends with EIO once asciinema exits
	if err := cmd.Wait(); err != nil {
		t.Fatalf("asciinema cat %s: %v: %s", path, err, out.String())
	}
	return strings.ReplaceAll(out.String(), "\r\n", "\n")
}

func TestExecThroughBastion(t *testing.T) {
	g := newGateway(t)
	cases := []struct {
		name, cmd      string
		stdout, stderr string
		code           int
		exitStatus     int
		exitSignal     string
	}{
		{name: "success", cmd: "echo out-$((40+2))", stdout: "out-42\n", code: 0},
		{name: "stderr-kept-apart", cmd: "echo to-out; echo to-err >&2; exit 3", stdout: "to-out\n", stderr: "to-err", code: 3},
		{name: "exit-255", cmd: "echo x; exit 255", stdout: "x\n", code: 255},
		{name: "killed-by-signal", cmd: "echo before; kill -KILL $$", stdout: "before\n", code: 255, exitSignal: "KILL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := g.ssh(t, g.alice, "root@target", c.cmd)
			if r.stdout != c.stdout {
				t.Errorf("stdout = %q, want %q", r.stdout, c.stdout)
			}
			if c.stderr != "" && !strings.Contains(r.stderr, c.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, c.stderr)
			}
			if c.stderr == "" && strings.Contains(r.stdout, "to-err") {
				t.Errorf("stderr leaked into stdout")
			}
			if r.code != c.code {
				t.Errorf("exit = %d, want %d (stderr %q)", r.code, c.code, r.stderr)
			}
			s := g.waitSession(t, func(s sessionRow) bool { return s.Command == c.cmd })
			if s.Identity != "alice@example.com" || s.Target != "target" || s.Login != "root" || s.Kind != "exec" {
				t.Errorf("session row = %+v", s)
			}
			if c.exitSignal != "" {
				if s.ExitSignal != c.exitSignal {
					t.Errorf("exit signal = %q, want %q", s.ExitSignal, c.exitSignal)
				}
			} else if s.ExitStatus == nil || *s.ExitStatus != c.code {
				t.Errorf("recorded exit status = %v, want %d", s.ExitStatus, c.code)
			}
			// The recording holds what the client saw, readable by the stock tool.
			out := asciinemaCat(t, s.Recording)
			if !strings.Contains(out, strings.TrimSpace(c.stdout)) {
				t.Errorf("asciinema cat = %q, want it to contain %q", out, c.stdout)
			}
		})
	}
	// The target's own sshd log names the person behind the bastion.
	if log := g.sshd.logText(t); !strings.Contains(log, "identity=alice@example.com") {
		t.Errorf("sshd log does not name the identity:\n%s", log)
	}
}

func TestInteractiveShell(t *testing.T) {
	g := newGateway(t)
	args := append(g.sshOpts(g.alice), "-tt", "-p", fmt.Sprint(g.port), "root@target@127.0.0.1")
	cmd := exec.Command("ssh", args...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 100, Rows: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	screen := &syncBuffer{}
	go io.Copy(screen, f)

	expect := func(what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(screen.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("did not see %q; screen:\n%s", what, screen.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	fmt.Fprintf(f, "stty size; echo marker-$((6*7))\r")
	expect("30 100")
	expect("marker-42")
	if err := pty.Setsize(f, &pty.Winsize{Cols: 120, Rows: 40}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // SIGWINCH reaches ssh asynchronously
	fmt.Fprintf(f, "stty size\r")
	expect("40 120")
	fmt.Fprintf(f, "exit 5\r")
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 5 {
		t.Fatalf("ssh exit = %v, want status 5", err)
	}
	s := g.waitSession(t, func(s sessionRow) bool { return s.Kind == "shell" })
	if s.ExitStatus == nil || *s.ExitStatus != 5 {
		t.Errorf("exit status = %v, want 5", s.ExitStatus)
	}
	rec, err := os.ReadFile(s.Recording)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rec), `"r", "120x40"`) && !strings.Contains(string(rec), `"r","120x40"`) {
		t.Errorf("recording has no resize event to 120x40:\n%s", rec)
	}
	if out := asciinemaCat(t, s.Recording); !strings.Contains(out, "marker-42") {
		t.Errorf("asciinema cat lacks the shell output: %q", out)
	}
}

func TestFileTransfer(t *testing.T) {
	requireTools(t, "scp", "sftp")
	g := newGateway(t)
	local := t.TempDir()
	src := filepath.Join(local, "src.bin")
	data := make([]byte, 10<<20)
	rand.Read(data)
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	remote := t.TempDir() // sshd runs as root on this machine: same file system
	opts := append(g.sshOpts(g.alice), "-P", fmt.Sprint(g.port))
	dest := "root@target@127.0.0.1:"

	check := func(path string) {
		t.Helper()
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(got) != want {
			t.Fatalf("%s: checksum differs", path)
		}
	}
	if r := runCmd(t, "scp", append(opts, src, dest+remote+"/up.bin")...); r.code != 0 {
		t.Fatalf("scp upload: %d %s", r.code, r.stderr)
	}
	check(filepath.Join(remote, "up.bin"))
	if r := runCmd(t, "scp", append(opts, dest+remote+"/up.bin", filepath.Join(local, "down.bin"))...); r.code != 0 {
		t.Fatalf("scp download: %d %s", r.code, r.stderr)
	}
	check(filepath.Join(local, "down.bin"))

	batch := filepath.Join(local, "batch")
	os.WriteFile(batch, []byte(fmt.Sprintf("put %s %s/sftp-up.bin\nget %s/sftp-up.bin %s/sftp-down.bin\nrm %s/up.bin\n",
		src, remote, remote, local, remote)), 0o600)
	sftpOpts := append(g.sshOpts(g.alice), "-P", fmt.Sprint(g.port), "-b", batch, "root@target@127.0.0.1")
	if r := runCmd(t, "sftp", sftpOpts...); r.code != 0 {
		t.Fatalf("sftp: %d %s", r.code, r.stderr)
	}
	check(filepath.Join(remote, "sftp-up.bin"))
	check(filepath.Join(local, "sftp-down.bin"))

	// Each file operation is in the audit log, with its path.
	g.waitAudit(t, "sftp.open", remote+"/sftp-up.bin")
	g.waitAudit(t, "sftp.remove", remote+"/up.bin")
	// And in the session's recording, which the stock tool reads.
	s := g.waitSession(t, func(s sessionRow) bool {
		b, _ := os.ReadFile(s.Recording)
		return s.Kind == "sftp" && strings.Contains(string(b), "remove")
	})
	if out := asciinemaCat(t, s.Recording); !strings.Contains(out, "sftp remove "+remote+"/up.bin") {
		t.Errorf("sftp recording = %q", out)
	}
}

// syncBuffer is a goroutine-safe string builder for reading a pty.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
