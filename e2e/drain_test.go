package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/certauth"
)

func readyz(port int) int {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// SIGTERM drains: /readyz fails, new connections are refused, an idle
// connection is closed, a new session over an open one is refused, a
// running session goes on until limits.drain_timeout and then ends with the
// shutdown status, recorded and verifiable; the process exits 0 once the
// stop is written.
func TestSIGTERMDrains(t *testing.T) {
	diag := freePort(t)
	g := newGatewayOpts(t, t.TempDir(), bastionOptions{policy: testPolicy, limits: "  drain_timeout: 8s\n",
		extra: fmt.Sprintf("diagnostics:\n  listen: 127.0.0.1:%d\n", diag)})
	waitFor(t, "/readyz to pass before the drain", func() bool { return readyz(diag) == http.StatusOK })

	// The running session goes over an OpenSSH ControlMaster, which a
	// client could use to open more sessions during the drain; a second
	// master has nothing running.
	busy := startMaster(t, g, g.alice)
	bob := newClient(t, g.userCA, certauth.UserRequest{Identity: "bob@example.com", Groups: []string{"ops"}})
	idle := startMaster(t, g, bob)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append(g.sshOpts(g.alice), "-o", "ControlMaster=no", "-o", "ControlPath="+busy.ctl,
		"-p", fmt.Sprint(g.port), "root@target@127.0.0.1", "echo started; sleep 50; echo finished")
	session := exec.CommandContext(ctx, "ssh", args...)
	var out, errb syncBuffer
	session.Stdout, session.Stderr = &out, &errb
	if err := session.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- session.Wait() }()
	waitFor(t, "the session to start", func() bool { return strings.Contains(out.String(), "started") })

	if err := g.proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/readyz to fail", func() bool { return readyz(diag) == http.StatusServiceUnavailable })
	waitFor(t, "new connections to be refused", func() bool {
		r := g.ssh(t, g.alice, "root@target", "echo new")
		return r.code == 255 && !strings.Contains(r.stdout, "new")
	})
	idle.waitExit(t) // closed: nothing ran on it
	if r := busy.run(t, g, g.alice, "echo sneaked-in"); r.code != 253 || strings.Contains(r.stdout, "sneaked-in") {
		t.Errorf("new session over an open connection during the drain: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	select {
	case err := <-ended:
		t.Fatalf("the running session ended before the drain deadline: %v %q", err, errb.String())
	default:
	}

	err := <-ended
	if code := session.ProcessState.ExitCode(); code != 253 {
		t.Fatalf("running session: exit %d (%v), stderr %q; want 253", code, err, errb.String())
	}
	if !strings.Contains(errb.String(), "shutting down; session ended") || strings.Contains(out.String(), "finished") {
		t.Errorf("stdout %q stderr %q", out.String(), errb.String())
	}
	if err := g.proc.Wait(); err != nil {
		t.Fatalf("bastion after the drain: %v\n%s", err, g.stderr.String())
	}

	// Everything was written before the exit.
	s := g.waitSession(t, func(r sessionRow) bool { return strings.Contains(r.Command, "sleep 50") })
	if s.ExitStatus == nil || *s.ExitStatus != 253 {
		t.Errorf("session row: %+v", s)
	}
	if out := g.cli(t, "verify", s.ID); !strings.Contains(out, "verified:") {
		t.Errorf("verify: %s", out)
	}
	for typ, n := range map[string]int{"session.shutdown": 2, "connection.shutdown": 2, "bastion.stop": 1} {
		if len(g.audit(t, typ)) != n {
			t.Errorf("%s events, want %d: %+v", typ, n, g.audit(t, typ))
		}
	}
	if out := g.cli(t, "verify", "--all"); !strings.Contains(out, "verified") {
		t.Errorf("verify --all: %s", out)
	}
	if b := g.stderr.String(); !bytes.Contains([]byte(b), []byte("draining")) {
		t.Errorf("no drain in the log:\n%s", b)
	}
}
