package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/policies"
)

// pingStore is the store's Ping, answering err.
type pingStore struct{ err error }

func (p pingStore) Ping(context.Context) error { return p.err }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReadiness(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	okPolicy := func() *policies.Policy { return &policies.Policy{} }
	// Not a directory, so it cannot be made one.
	gone := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(gone, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		store      error
		recordings string
		policy     func() *policies.Policy
		draining   bool
		heartbeat  error
		failing    string // the one check that fails; "" for none
	}{
		{name: "ready", policy: okPolicy},
		{name: "store-down", store: errors.New("database is on fire"), policy: okPolicy, failing: "store"},
		{name: "recordings-unwritable", recordings: gone, policy: okPolicy, failing: "recordings"},
		{name: "no-policy", policy: func() *policies.Policy { return nil }, failing: "policy"},
		{name: "draining", policy: okPolicy, draining: true, failing: "draining"},
		{name: "heartbeat-lost", policy: okPolicy, heartbeat: errors.New("no heartbeat has reached the store for 20s"), failing: "heartbeat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.recordings
			if dir == "" {
				dir = filepath.Join(t.TempDir(), "recordings") // made by the probe
			}
			var draining atomic.Bool
			draining.Store(tc.draining)
			r := newReadiness(pingStore{tc.store}, dir, tc.policy, draining.Load, log)
			r.heartbeat = func() error { return tc.heartbeat }
			h, err := newHealthServer("127.0.0.1:0", r, log)
			if err != nil {
				t.Fatal(err)
			}
			go h.serve()
			t.Cleanup(func() { h.shutdown(context.Background()) })
			base := "http://" + h.ln.Addr().String()

			if code, body := get(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
				t.Errorf("/healthz = %d %q; it says the process answers, ready or not", code, body)
			}
			code, body := get(t, base+"/readyz")
			var rep readyReport
			if err := json.Unmarshal([]byte(body), &rep); err != nil {
				t.Fatalf("/readyz body %q: %v", body, err)
			}
			wantCode := http.StatusOK
			if tc.failing != "" {
				wantCode = http.StatusServiceUnavailable
			}
			if code != wantCode || rep.Ready != (tc.failing == "") {
				t.Errorf("/readyz = %d %+v, want %d", code, rep, wantCode)
			}
			for _, name := range []string{"draining", "store", "heartbeat", "recordings", "policy"} {
				want := "ok"
				if name == tc.failing {
					want = "failing"
				}
				if rep.Checks[name] != want {
					t.Errorf("check %s = %q, want %q", name, rep.Checks[name], want)
				}
			}
			if strings.Contains(body, "fire") || strings.Contains(body, gone) || strings.Contains(body, "20s") {
				t.Errorf("/readyz tells the network why: %q", body)
			}
			// The probe leaves nothing behind in the recording directory.
			if entries, _ := os.ReadDir(dir); tc.failing != "recordings" && len(entries) != 0 {
				t.Errorf("recording directory holds %d entries after the probe", len(entries))
			}
			// Metrics and profiles are not on the health listener.
			if code, _ := get(t, base+"/metrics"); code != http.StatusNotFound {
				t.Errorf("/metrics on the health listener = %d", code)
			}
		})
	}
}

// blockingStore is a store whose Ping waits for release, counting the
// pings under way and the most at once.
type blockingStore struct {
	release      chan struct{}
	active, most atomic.Int32
}

func (b *blockingStore) Ping(ctx context.Context) error {
	n := b.active.Add(1)
	defer b.active.Add(-1)
	for m := b.most.Load(); n > m && !b.most.CompareAndSwap(m, n); m = b.most.Load() {
	}
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Anyone who reaches the health listener can send /readyz as fast as they
// like; each run of the checks takes a database connection. Requests that
// arrive while one run is under way share it: a flood costs one
// connection, not one each (PostgreSQL's connection limit is shared by
// every node, and its audit writes).
func TestAttackReadyzFloodOneCheckAtATime(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	st := &blockingStore{release: make(chan struct{})}
	r := newReadiness(st, filepath.Join(t.TempDir(), "recordings"), func() *policies.Policy { return &policies.Policy{} },
		func() bool { return false }, log)
	r.heartbeat = func() error { return nil }
	h, err := newHealthServer("127.0.0.1:0", r, log)
	if err != nil {
		t.Fatal(err)
	}
	mux, entered := h.srv.Handler, atomic.Int32{}
	h.srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		entered.Add(1)
		mux.ServeHTTP(w, req)
	})
	go h.serve()
	t.Cleanup(func() { h.shutdown(context.Background()) })
	const flood = 8
	codes := make(chan int, flood)
	for range flood {
		go func() {
			resp, err := http.Get("http://" + h.ln.Addr().String() + "/readyz")
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	for deadline := time.Now().Add(30 * time.Second); entered.Load() < flood || st.active.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests in, %d pings under way", entered.Load(), st.active.Load())
		}
	}
	close(st.release)
	for range flood {
		if code := <-codes; code != http.StatusOK {
			t.Errorf("/readyz = %d", code)
		}
	}
	if most := st.most.Load(); most != 1 {
		t.Errorf("%d store pings at once for %d requests, want 1", most, flood)
	}
}

// A request with a huge header to the health listener, which may face the
// network, is refused once past a few KiB rather than read into memory up
// to net/http's default megabyte.
func TestAttackHugeHealthRequestRefused(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	r := newReadiness(pingStore{}, filepath.Join(t.TempDir(), "recordings"), func() *policies.Policy { return &policies.Policy{} },
		func() bool { return false }, log)
	h, err := newHealthServer("127.0.0.1:0", r, log)
	if err != nil {
		t.Fatal(err)
	}
	go h.serve()
	t.Cleanup(func() { h.shutdown(context.Background()) })
	req, err := http.NewRequest(http.MethodGet, "http://"+h.ln.Addr().String()+"/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Filler", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 64 KiB header: %d, want %d", resp.StatusCode, http.StatusRequestHeaderFieldsTooLarge)
	}
}
