package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/certauth"
)

// Every connection is bound by its certificate, idle or not: an OpenSSH
// ControlMaster that never opened a channel, a revocation, a certificate
// that expires while its connection is open, and the certificate's
// permit-* extensions.

// master is an `ssh -N` ControlMaster connection through the bastion.
type master struct {
	ctl  string
	cmd  *exec.Cmd
	done chan error
}

func startMaster(t *testing.T, g *gateway, c client) *master {
	t.Helper()
	// Unix socket paths are short (108 bytes): not under t.TempDir.
	dir, err := os.MkdirTemp("", "cm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &master{ctl: filepath.Join(dir, "ctl"), done: make(chan error, 1)}
	args := append(g.sshOpts(c), "-o", "ControlMaster=yes", "-o", "ControlPath="+m.ctl, "-N",
		"-p", fmt.Sprint(g.port), "root@target@127.0.0.1")
	m.cmd = exec.Command("ssh", args...)
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { m.done <- m.cmd.Wait() }()
	t.Cleanup(func() { m.cmd.Process.Kill() })
	// Ready once the master answers on its control socket.
	deadline := time.Now().Add(30 * time.Second)
	for {
		check := exec.Command("ssh", "-F", "/dev/null", "-o", "ControlPath="+m.ctl, "-O", "check", "root@target@127.0.0.1")
		if check.Run() == nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatal("the master never became ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run runs a command over the master's connection only (never a fresh one).
func (m *master) run(t *testing.T, g *gateway, c client, command string) result {
	t.Helper()
	args := append(g.sshOpts(c), "-o", "ControlMaster=no", "-o", "ControlPath="+m.ctl,
		"-p", fmt.Sprint(g.port), "root@target@127.0.0.1", command)
	return runCmd(t, "ssh", args...)
}

// waitExit waits for the master to end; it must, once its certificate is
// no longer good.
func (m *master) waitExit(t *testing.T) {
	t.Helper()
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the master connection outlived its certificate")
	}
}

// An idle master (no channel ever opened) is closed by the sweep once its
// identity is revoked.
func TestRevocationClosesIdleMaster(t *testing.T) {
	g := newGatewayOpts(t, t.TempDir(), bastionOptions{policy: testPolicy, limits: "  certificate_check: 1s\n"})
	carol := newClient(t, g.userCA, certauth.UserRequest{Identity: "carol@example.com", Groups: []string{"ops"}})
	m := startMaster(t, g, carol)
	g.cli(t, "ca", "revoke", "--identity", "carol@example.com")
	m.waitExit(t)
	g.waitAudit(t, "connection.revoked", "revoked")
}

// A session asked for through a master after the revocation is refused
// (the sweep's timer is slowed down so that the new channel's own check
// is usually what refuses it), nothing runs on the target, and the master
// closes.
func TestRevocationRefusesSessionThroughMaster(t *testing.T) {
	g := newGatewayOpts(t, t.TempDir(), bastionOptions{policy: testPolicy, limits: "  certificate_check: 1h\n"})
	carol := newClient(t, g.userCA, certauth.UserRequest{Identity: "carol@example.com", Groups: []string{"ops"}})
	m := startMaster(t, g, carol)
	if r := m.run(t, g, carol, "echo through-master"); r.code != 0 || !strings.Contains(r.stdout, "through-master") {
		t.Fatalf("session through the master: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	g.cli(t, "ca", "revoke", "--identity", "carol@example.com")
	marker := filepath.Join(t.TempDir(), "ran")
	r := m.run(t, g, carol, "touch "+marker)
	// The revocation also wakes the sweep (the store's change feed), which
	// may close the master first: ssh then tries a connection of its own,
	// refused at authentication. Either way nothing runs.
	refusedOnChannel := r.code == 249 && strings.Contains(r.stderr, "certificate revoked")
	refusedAtLogin := r.code == 255 && strings.Contains(r.stderr, "certificate has been revoked")
	if !refusedOnChannel && !refusedAtLogin {
		t.Errorf("session after revocation: exit %d %q", r.code, r.stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran on the target after the revocation")
	}
	m.waitExit(t)
	if refusedOnChannel {
		g.waitAudit(t, "session.revoked", "revoked")
	}
	g.waitAudit(t, "connection.revoked", "revoked")
}

// A certificate that expires while its connection is open ends the running
// session within the check interval, with its own exit status and events.
// The lifetime must outlast the login and the session's start: on a busy
// machine a longer one is tried.
func TestExpiryEndsRunningSession(t *testing.T) {
	g := newGatewayOpts(t, t.TempDir(), bastionOptions{policy: testPolicy, limits: "  certificate_check: 1s\n"})
	for _, ttl := range []time.Duration{8 * time.Second, 30 * time.Second, 90 * time.Second} {
		dave := newClient(t, g.userCA, certauth.UserRequest{Identity: "dave@example.com", Groups: []string{"ops"}, TTL: ttl})
		args := append(g.sshOpts(dave), "-p", fmt.Sprint(g.port), "root@target@127.0.0.1", "echo running; sleep 300")
		cmd := exec.Command("ssh", args...)
		var out, errb syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		t.Cleanup(func() { cmd.Process.Kill() })
		var err error
		started := false
		for !started {
			select {
			case err = <-done:
				started = true // ended: decided below
			case <-time.After(50 * time.Millisecond):
				started = strings.Contains(out.String(), "running")
			}
		}
		if !strings.Contains(out.String(), "running") {
			t.Logf("certificate of %s expired before its session started; trying a longer one", ttl)
			continue
		}
		if err == nil {
			select {
			case err = <-done:
			case <-time.After(ttl + time.Minute):
				t.Fatal("the session outlived its certificate")
			}
		}
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 250 || !strings.Contains(errb.String(), "certificate expired; session ended") {
			t.Errorf("expired session ended with %v: %q %q", err, out.String(), errb.String())
		}
		g.waitAudit(t, "session.expired", "expired")
		g.waitAudit(t, "connection.expired", "expired")
		end := g.waitAudit(t, "session.end", "session.expired")
		if fmt.Sprint(end.Detail["exit_status"]) != "250" {
			t.Errorf("session.end exit_status = %v", end.Detail["exit_status"])
		}
		return
	}
	t.Fatal("no certificate lifetime outlasted the session's start")
}

// A certificate issued with no permit-* extensions (ssh-keygen -O clear)
// gets no pty and no port forwarding, whatever the policy says; each
// refusal is audited.
func TestCertificateWithoutPermits(t *testing.T) {
	policy := testPolicy + "  - name: forwarders\n    groups: [ops]\n    targets: [target]\n    logins: [root]\n    port_forwarding: true\n"
	policy = strings.Replace(policy, "env_allow: [LANG]\n", "", 1) + "env_allow: [LANG]\n"
	g := newGatewayWith(t, t.TempDir(), "", policy)
	cleared := newClient(t, g.userCA, certauth.UserRequest{Identity: "erin@example.com", Groups: []string{"ops"},
		Extensions: map[string]string{}})
	// ssh -tt gives up when the pty is refused, as it does against sshd.
	marker := filepath.Join(t.TempDir(), "ran")
	r := g.ssh(t, cleared, "root@target", "-tt", "touch "+marker)
	if r.code != 255 || !strings.Contains(r.stderr, "PTY allocation request failed") {
		t.Errorf("cleared certificate: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := g.ssh(t, cleared, "root@target", "tty; echo done"); !strings.Contains(r.stdout, "not a tty") {
		t.Errorf("cleared certificate without a pty: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	g.waitAudit(t, "session.pty", "permit-pty")

	// The same request with a certificate that permits a pty gets one.
	r = g.ssh(t, g.alice, "root@target", "-tt", "tty")
	if !strings.Contains(r.stdout, "/dev/") {
		t.Errorf("default certificate: exit %d %q %q", r.code, r.stdout, r.stderr)
	}

	r = g.ssh(t, cleared, "root@target", "-W", g.sshd.addr)
	if r.code == 0 || strings.Contains(r.stdout, "SSH-2.0") {
		t.Errorf("cleared certificate forwarded: exit %d %q", r.code, r.stdout)
	}
	g.waitAudit(t, "forward.direct-tcpip", "permit-port-forwarding")
}
