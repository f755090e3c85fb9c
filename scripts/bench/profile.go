package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// profileSeconds is how long each CPU profile of the bastion runs: short
// enough to fall inside a quick-mode transfer, long enough for a few
// thousand samples.
const profileSeconds = 2

// diagConfig turns on the bastion's loopback diagnostics listener with
// pprof, so that BENCH_PROFILE=1 can take CPU profiles during transfers.
func diagConfig(port int) string {
	return fmt.Sprintf("diagnostics:\n  listen: 127.0.0.1:%d\n  pprof: true\n", port)
}

// startProfile begins a CPU profile of the bastion named after metric,
// the first time metric runs through the bastion with profiling on; the
// returned function waits for it and writes it to
// bench-results/profiles/METRIC.pprof. Without profiling it does nothing.
func (b *bench) startProfile(ctx context.Context, s side, metric string) (wait func()) {
	if !b.opt.profile || s != viaBastion || b.profiled[metric] || b.e.diagURL == "" {
		return func() {}
	}
	b.profiled[metric] = true
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := b.fetchProfile(ctx, metric); err != nil {
			logf(b.opt.log, "profile %s: %v", metric, err)
		}
	}()
	return func() { <-done }
}

func (b *bench) fetchProfile(ctx context.Context, metric string) error {
	dir := filepath.Join(b.opt.outDir, "profiles")
	if b.opt.outDir == "" {
		dir = filepath.Join(b.e.dir, "profiles")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, (profileSeconds+10)*time.Second)
	defer cancel()
	url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", b.e.diagURL, profileSeconds)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	path := filepath.Join(dir, metric+".pprof")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	logf(b.opt.log, "wrote CPU profile %s", path)
	return f.Close()
}
