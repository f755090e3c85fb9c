package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestQuickBench runs the quick mode end to end: it checks that the
// harness works (every row measured, every number positive), not the
// numbers themselves. Timing goals do not belong in go test.
func TestQuickBench(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sshd and the bastion")
	}
	if os.Getuid() != 0 {
		t.Skip("needs root: the target sshd switches users")
	}
	if _, err := os.Stat(sshdPath); err != nil {
		t.Skipf("%s not installed (make deps installs it)", sshdPath)
	}
	for _, tool := range []string{"ssh", "scp"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make deps installs it)", tool)
		}
	}
	opt := quickOptions()
	opt.outDir = t.TempDir()
	var table, progress bytes.Buffer
	opt.stdout, opt.log = &table, &progress
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	rep, err := run(ctx, opt)
	if err != nil {
		t.Fatalf("quick bench: %v\n%s", err, progress.String())
	}
	t.Logf("quick bench took %s\n%s", time.Since(start).Round(time.Second), table.String())

	if len(rep.Rows) != len(rowSpecs(opt)) {
		t.Errorf("%d rows, want %d", len(rep.Rows), len(rowSpecs(opt)))
	}
	for _, sp := range rowSpecs(opt) {
		rw := findRow(rep.Rows, sp.metric)
		switch {
		case sp.na != "":
			continue
		case rw == nil:
			t.Errorf("no row for %s", sp.metric)
			continue
		case rw.Bastion == nil || *rw.Bastion <= 0:
			t.Errorf("%s: bastion value %v, want a positive number", sp.scenario, rw.Bastion)
		}
		if !sp.bastionOnly && (rw.Direct == nil || *rw.Direct <= 0) {
			t.Errorf("%s: direct value %v, want a positive number", sp.scenario, rw.Direct)
		}
		if sp.jump && (rw.Jump == nil || *rw.Jump <= 0 || rw.JumpRatio == nil) {
			t.Errorf("%s: jump host value %v, want a positive number and a ratio", sp.scenario, rw.Jump)
		}
		if sp.goal != noGoal && rw.Met == nil {
			t.Errorf("%s: goal %q not evaluated", sp.scenario, rw.Goal)
		}
	}

	// Issuance over the HTTP API ran end to end: provider, token, HTTPS.
	if rw := findRow(rep.Rows, "certs.http"); rw == nil || rw.Bastion == nil || *rw.Bastion <= 0 {
		t.Errorf("certificate issuance over the HTTP API not measured: %+v", rw)
	}

	// The same report is on disk as JSON.
	b, err := os.ReadFile(filepath.Join(opt.outDir, "latest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("latest.json: %v", err)
	}
	if len(back.Rows) != len(rep.Rows) || back.Machine.CPUs == 0 || len(back.Samples) == 0 {
		t.Errorf("latest.json: incomplete report: %d rows, machine %+v", len(back.Rows), back.Machine)
	}
	if m, _ := filepath.Glob(filepath.Join(opt.outDir, "bench-*.json")); len(m) != 1 {
		t.Errorf("timestamped reports: %v, want one", m)
	}
}

func findRow(rows []row, metric string) *row {
	for i := range rows {
		if rows[i].Metric == metric {
			return &rows[i]
		}
	}
	return nil
}

func TestParseTimes(t *testing.T) {
	got, err := parseTimes("0m0.004s 0m0.008s\n0m1.500s 0m0.035s\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := 1547 * time.Millisecond; got != want {
		t.Errorf("parseTimes = %s, want %s", got, want)
	}
	if _, err := parseTimes("bash: times: not found"); err == nil {
		t.Error("parseTimes accepted output without times")
	}
}

func TestParseStat(t *testing.T) {
	line := []byte("42 (sshd: root (x)) S 7 42 42 0 -1 4194560 1 0 0 0 12 34 56 78 20 0 1 0 100 0 0")
	s, err := parseStat(42, line)
	if err != nil {
		t.Fatal(err)
	}
	if s.comm != "sshd: root (x)" || s.ppid != 7 || s.utime != 12 || s.stime != 34 || s.cutime != 56 || s.cstime != 78 {
		t.Errorf("parseStat = %+v", s)
	}
	if s.total() != 1800*time.Millisecond {
		t.Errorf("total = %s", s.total())
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(ds, 50); p != 50*time.Millisecond {
		t.Errorf("p50 = %s", p)
	}
	if p := percentile(ds, 99); p != 99*time.Millisecond {
		t.Errorf("p99 = %s", p)
	}
	if m := median([]float64{3, 1, 2, 10}); m != 2.5 {
		t.Errorf("median = %v", m)
	}
}

// The cluster scenario starts PostgreSQL and an S3 server: the quick run
// (part of make test) leaves it out unless BENCH_ONLY names it.
func TestClusterSizing(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want int
	}{
		{map[string]string{}, 500},
		{map[string]string{"BENCH_QUICK": "1"}, 0},
		{map[string]string{"BENCH_QUICK": "1", "BENCH_ONLY": "idle,cluster"}, quickClusterSessions},
		{map[string]string{"BENCH_QUICK": "1", "BENCH_ONLY": "cluster", "BENCH_CLUSTER_SESSIONS": "50"}, 50},
		{map[string]string{"BENCH_CLUSTER_SESSIONS": "0"}, 0},
	} {
		for _, k := range []string{"BENCH_QUICK", "BENCH_ONLY", "BENCH_CLUSTER_SESSIONS"} {
			t.Setenv(k, c.env[k])
		}
		o, err := optionsFromEnv()
		if err != nil {
			t.Fatalf("%v: %v", c.env, err)
		}
		if o.clusterSessions != c.want {
			t.Errorf("%v: %d cluster sessions, want %d", c.env, o.clusterSessions, c.want)
		}
		if rows := clusterRowSpecs(o); (len(rows) > 0) != (c.want > 0) {
			t.Errorf("%v: %d cluster rows in the table", c.env, len(rows))
		}
	}
	t.Setenv("BENCH_CLUSTER_SESSIONS", "-1")
	if _, err := optionsFromEnv(); err == nil {
		t.Error("BENCH_CLUSTER_SESSIONS=-1 accepted")
	}
}

// A client's first line may arrive split across writes, and may come
// again: seen is closed once, when the line is complete.
func TestMarkerWriter(t *testing.T) {
	w := newMarkerWriter("cluster-7-open-42")
	for _, part := range []string{"clus", "ter-7-op", "en-4"} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-w.seen:
			t.Fatalf("line seen after only %q", w.String())
		default:
		}
	}
	for range 2 {
		if _, err := w.Write([]byte("2\r\ncluster-7-open-42")); err != nil {
			t.Fatal(err)
		}
		select {
		case <-w.seen:
		default:
			t.Fatalf("line not seen in %q", w.String())
		}
	}
}
