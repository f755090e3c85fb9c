package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A command that carries escape sequences (clear the screen, retitle the
// window) is run and recorded as typed, and the CLI shows it to the
// auditor inert.
func TestRecordedEscapesShownInert(t *testing.T) {
	g := newGateway(t)
	cmd := "echo '\x1b]0;pwned\x07\x1b[2Jok'"
	if r := g.ssh(t, g.alice, "root@target", cmd); r.code != 0 {
		t.Fatalf("ssh: %d %s", r.code, r.stderr)
	}
	s := g.waitSession(t, func(s sessionRow) bool { return strings.HasSuffix(s.Command, "ok'") })
	for _, args := range [][]string{{"sessions", "list"}, {"sessions", "show", s.ID}} {
		out := g.cli(t, args...)
		if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, `echo '\x1b]0;pwned\x07\x1b[2Jok'`) {
			t.Errorf("%v printed %q", args, out)
		}
	}
	if out := g.cli(t, "sessions", "show", s.ID, "--raw"); !strings.Contains(out, cmd) {
		t.Errorf("--raw did not print the command as recorded: %q", out)
	}
}

// `replay --web` answers only requests addressed to where it listens: a
// page that rebinds its own name to 127.0.0.1 gets nothing.
func TestReplayWebChecksHost(t *testing.T) {
	g := newGateway(t)
	if r := g.ssh(t, g.alice, "root@target", "echo web"); r.code != 0 {
		t.Fatalf("ssh: %d %s", r.code, r.stderr)
	}
	s := g.waitSession(t, func(s sessionRow) bool { return s.Command == "echo web" })
	port := freePort(t)
	srv := exec.Command(bastionBin, "replay", "--web", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data", g.dir, s.ID)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitPort(t, addr, srv.Process)
	get := func(host string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+"/session.cast", nil)
		req.Host = host
		c := &http.Client{Timeout: 10 * time.Second}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(addr); code != http.StatusOK || !strings.Contains(body, "web") {
		t.Errorf("own address: %d %.200s", code, body)
	}
	if code, _ := get(fmt.Sprintf("localhost:%d", port)); code != http.StatusOK {
		t.Errorf("localhost: %d", code)
	}
	if code, body := get(fmt.Sprintf("attacker.example:%d", port)); code != http.StatusMisdirectedRequest || strings.Contains(body, "web") {
		t.Errorf("rebound name: %d %.200s", code, body)
	}
}
