package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/certauth"
)

// TestMetrics: the diagnostics listener counts what happened, as audited:
// a session that ran, one that failed and a refusal.
func TestMetrics(t *testing.T) {
	port := freePort(t)
	g := newGatewayIn(t, t.TempDir(), fmt.Sprintf("diagnostics:\n  listen: 127.0.0.1:%d\n", port))
	if r := g.ssh(t, g.alice, "root@target", "true"); r.code != 0 {
		t.Fatalf("ssh true: %d %s", r.code, r.stderr)
	}
	if r := g.ssh(t, g.alice, "root@target", "exit 3"); r.code != 3 {
		t.Fatalf("ssh 'exit 3': %d %s", r.code, r.stderr)
	}
	bob := newClient(t, g.userCA, certauth.UserRequest{Identity: "bob@example.com", Groups: []string{"guests"}})
	if r := g.ssh(t, bob, "root@target", "true"); r.code != 240 {
		t.Fatalf("bob: %d %s", r.code, r.stderr)
	}
	want := []string{
		`bastion_sessions_started_total 2`,
		`bastion_sessions_ended_total{result="ok"} 1`,
		`bastion_sessions_ended_total{result="error"} 1`,
		`bastion_sessions_active 0`,
		`bastion_audit_events_total{outcome="denied",type="session.denied"} 1`,
		`go_goroutines `,
	}
	// A session's end is stored after the client has its exit status.
	deadline := time.Now().Add(10 * time.Second)
	for {
		body := getMetrics(t, port)
		var missing []string
		for _, w := range want {
			if !strings.Contains(body, "\n"+w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack %q:\n%s", missing, grepLines(body, "bastion_"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/", port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/debug/pprof/ without pprof: true: %s, want 404", resp.Status)
	}
}

func getMetrics(t *testing.T, port int) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s %v", resp.Status, err)
	}
	return string(b)
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
