package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/policies"
)

func TestDiagnosticsServesMetricsAndPprofOnlyWhenAsked(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, pprofOn := range []bool{false, true} {
		ready := newReadiness(pingStore{}, t.TempDir(), func() *policies.Policy { return &policies.Policy{} }, func() bool { return false }, log)
		ready.heartbeat = func() error { return nil }
		d, err := newDiagServer(config.Diagnostics{Listen: "127.0.0.1:0", Pprof: pprofOn}, prometheus.NewRegistry(), ready, log)
		if err != nil {
			t.Fatal(err)
		}
		go d.serve()
		base := "http://" + d.ln.Addr().String()
		get := func(path string) (int, string) {
			resp, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "process_cpu_seconds_total") {
			t.Errorf("pprof=%v: /metrics = %d %.200q", pprofOn, code, body)
		}
		want := http.StatusNotFound
		if pprofOn {
			want = http.StatusOK
		}
		if code, body := get("/readyz"); code != http.StatusOK || !strings.Contains(body, `"ready":true`) {
			t.Errorf("pprof=%v: /readyz = %d %q", pprofOn, code, body)
		}
		if code, _ := get("/debug/pprof/goroutine?debug=1"); code != want {
			t.Errorf("pprof=%v: /debug/pprof/goroutine = %d, want %d", pprofOn, code, want)
		}
		if err := d.shutdown(t.Context()); err != nil {
			t.Error(err)
		}
	}
}
