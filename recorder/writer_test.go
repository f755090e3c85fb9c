package recorder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestHeaderFields(t *testing.T) {
	w, path, _ := newTestWriter(t, Options{Signer: testKey, CheckpointEvery: -1})
	if _, err := w.Close(ExitInfo{}); err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(readLines(t, path)[0], &h); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"version": 2.0, "width": 120.0, "height": 40.0,
		"timestamp": float64(testStart.Unix()),
		"command":   "journalctl -u app", "title": "prod-db-1",
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("header %q = %v, want %v", k, h[k], v)
		}
	}
	env, _ := h["env"].(map[string]any)
	if env["TERM"] != "xterm-256color" || env["SHELL"] != "/bin/bash" {
		t.Errorf("header env = %v", h["env"])
	}
	b, _ := h["bastion"].(map[string]any)
	for k, v := range map[string]any{
		"session_id": "s1", "identity": "alice@example.org", "source": "192.0.2.10:51234",
		"target": "db-1.internal", "login": "postgres", "kind": "shell",
	} {
		if b[k] != v {
			t.Errorf("bastion %q = %v, want %v", k, b[k], v)
		}
	}
	if g := fmt.Sprint(b["groups"]); g != "[sre oncall]" {
		t.Errorf("bastion groups = %s", g)
	}
}

func TestCreateDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "dir", "x.cast")
	h := Header{Session: Meta{SessionID: "x", Kind: KindExec}}
	w, err := Create(path, h, Options{CheckpointEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(ExitInfo{}); err != nil {
		t.Fatal(err)
	}
	var hdr headerJSON
	if err := json.Unmarshal(readLines(t, path)[0], &hdr); err != nil {
		t.Fatal(err)
	}
	if hdr.Width != DefaultWidth || hdr.Height != DefaultHeight || hdr.Timestamp == 0 {
		t.Errorf("header = %+v, want default size and a timestamp", hdr)
	}
	for p, want := range map[string]fs.FileMode{path: 0o600, ManifestPath(path): 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	if _, err := os.Stat(CheckpointsPath(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("checkpoints off, but %s: %v", CheckpointsPath(path), err)
	}
}

func TestCreateRejects(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "taken.cast")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(dir, "planted.cast")
	if err := os.WriteFile(ManifestPath(planted), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	rsa := fakeSigner{}
	tests := []struct {
		name string
		path string
		h    Header
		opts Options
	}{
		{"existing-file", existing, testHeader("a"), Options{}},
		{"existing-manifest", planted, testHeader("b"), Options{}},
		{"no-session-id", filepath.Join(dir, "c.cast"), Header{}, Options{}},
		{"negative-size", filepath.Join(dir, "d.cast"), Header{Width: -1, Session: Meta{SessionID: "d"}}, Options{}},
		{"non-ed25519-signer", filepath.Join(dir, "e.cast"), testHeader("e"), Options{Signer: rsa}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Create(tt.path, tt.h, tt.opts)
			if err == nil {
				w.Close(ExitInfo{})
				t.Fatal("Create succeeded")
			}
			if tt.path != existing && tt.path != planted {
				if _, err := os.Stat(tt.path); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("failed Create left %s behind", tt.path)
				}
			}
		})
	}
	if data, _ := os.ReadFile(existing); string(data) != "keep me" {
		t.Errorf("existing file overwritten: %q", data)
	}
	if _, err := Create(existing, testHeader("a"), Options{}); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over existing file: %v, want fs.ErrExist", err)
	}
}

func TestEvents(t *testing.T) {
	w, path, clk := newTestWriter(t, Options{CheckpointEvery: -1})
	steps := []struct {
		advance time.Duration
		do      func() error
		want    event
	}{
		{1500 * time.Microsecond, func() error { return w.Output([]byte("$ ls\r\n")) }, event{0.0015, "o", "$ ls\r\n"}},
		{time.Second, func() error { return w.Input([]byte("q")) }, event{1.0015, "i", "q"}},
		{0, func() error { return w.Resize(100, 30) }, event{1.0015, "r", "100x30"}},
		{2 * time.Second, func() error { return w.Marker("command approved") }, event{3.0015, "m", "command approved"}},
		{0, func() error { return w.Output([]byte("bad \xff byte")) }, event{3.0015, "o", "bad \ufffd byte"}},
		{-time.Second, func() error { return w.Output([]byte("clock stepped back")) }, event{3.0015, "o", "clock stepped back"}},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		if err := s.do(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Output(nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Resize(0, 10); err == nil {
		t.Error("Resize(0, 10) succeeded")
	}
	pos := w.Offset()
	if pos.Event != int64(len(steps)) || pos.Offset != w.Bytes() || pos.Elapsed != 3001500*time.Microsecond {
		t.Errorf("Offset() = %+v, Bytes() = %d", pos, w.Bytes())
	}
	if _, err := w.Close(ExitInfo{Status: -1, Signal: "TERM"}); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	if len(lines) != len(steps)+2 {
		t.Fatalf("%d lines, want %d", len(lines), len(steps)+2)
	}
	for i, s := range steps {
		if got := decodeEvent(t, lines[i+1]); got != s.want {
			t.Errorf("event %d = %+v, want %+v", i, got, s.want)
		}
	}
	if got := decodeEvent(t, lines[len(lines)-1]); got.Code != "m" || got.Data != "exit -1 signal TERM" {
		t.Errorf("final event = %+v", got)
	}
	if got := string(lines[1]); got != `[0.001500,"o","$ ls\r\n"]` {
		t.Errorf("line = %s", got)
	}
	if err := w.Output([]byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Output after Close: %v, want ErrClosed", err)
	}
	if _, err := w.Close(ExitInfo{}); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
}

func TestLargeOutputSplitsOnRuneBoundaries(t *testing.T) {
	w, path, _ := newTestWriter(t, Options{CheckpointEvery: -1})
	// 3-byte runes, so that maxEventData falls inside one.
	big := []byte(strings.Repeat("日", maxEventData/3+1000))
	if err := w.Output(big); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(ExitInfo{}); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	var got strings.Builder
	for _, l := range lines[1 : len(lines)-1] {
		e := decodeEvent(t, l)
		if strings.ContainsRune(e.Data, '\ufffd') {
			t.Fatal("a rune was split")
		}
		got.WriteString(e.Data)
	}
	if len(lines) < 4 || got.String() != string(big) {
		t.Errorf("%d lines; data round trip equal: %v", len(lines), got.String() == string(big))
	}
}

// A session that streamed NUL-heavy output reuses its line buffer while it
// streams, and lets it go once output is small again (idle memory).
func TestLineBufferKeptWhileStreamingOnly(t *testing.T) {
	w, _, _ := newTestWriter(t, Options{CheckpointEvery: -1})
	defer w.Close(ExitInfo{})
	nuls := make([]byte, maxEventData)
	if err := w.Output(nuls); err != nil {
		t.Fatal(err)
	}
	kept := cap(w.buf)
	if kept < 6*maxEventData {
		t.Fatalf("buffer of %d bytes kept after a %d-byte NUL event", kept, maxEventData)
	}
	if n := testing.AllocsPerRun(5, func() { w.Output(nuls) }); n != 0 {
		t.Errorf("%.0f allocations per streamed event, want 0", n)
	}
	for i := 0; i < smallEventsToShrink-1; i++ {
		if err := w.Output([]byte("$ ")); err != nil {
			t.Fatal(err)
		}
	}
	if c := cap(w.buf); c != kept {
		t.Fatalf("a few small events between large ones dropped the buffer (cap %d, was %d)", c, kept)
	}
	if err := w.Output([]byte("$ ")); err != nil {
		t.Fatal(err)
	}
	if c := cap(w.buf); c > smallBuffer {
		t.Errorf("after %d small events the writer still holds %d bytes", smallEventsToShrink, c)
	}
}

func TestConcurrentOutput(t *testing.T) {
	w, path, _ := newTestWriter(t, Options{Signer: testKey, CheckpointEvery: time.Millisecond})
	const perWriter = 500
	var wg sync.WaitGroup
	for _, name := range []string{"stdout", "stderr"} {
		wg.Go(func() {
			for i := range perWriter {
				if err := w.Output(fmt.Appendf(nil, "%s %d \x1b[31mred\x1b[0m\r\n", name, i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if _, err := w.Close(ExitInfo{}); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	if len(lines) != 2*perWriter+2 {
		t.Fatalf("%d lines, want %d", len(lines), 2*perWriter+2)
	}
	next := map[string]int{}
	for _, l := range lines[1 : len(lines)-1] {
		var name string
		var i int
		if _, err := fmt.Sscanf(decodeEvent(t, l).Data, "%s %d", &name, &i); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if i != next[name] {
			t.Fatalf("%s: event %d, want %d", name, i, next[name])
		}
		next[name]++
	}
	if res, err := Verify(path, testPub); err != nil {
		t.Fatalf("Verify: %v (%v)", err, res)
	}
}

func TestWriteFailure(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(t *testing.T, w *Writer)
	}{
		{"closed-file", func(t *testing.T, w *Writer) {
			w.mu.Lock()
			w.f.Close()
			w.mu.Unlock()
		}},
		{"full-disk", func(t *testing.T, w *Writer) {
			full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
			if err != nil {
				t.Skipf("no /dev/full: %v", err)
			}
			w.mu.Lock()
			w.f.Close()
			w.f = full
			w.mu.Unlock()
		}},
	}
	// A write larger than one event (several lines) fails the same way.
	large := bytes.Repeat([]byte("secret output the client must not see\x00"), maxEventData/32)
	for _, tt := range tests {
		for _, out := range [][]byte{[]byte("secret output the client must not see"), large} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, len(out)), func(t *testing.T) {
				testWriteFailure(t, tt.name, tt.breakIt, out)
			})
		}
	}
}

func testWriteFailure(t *testing.T, name string, breakIt func(t *testing.T, w *Writer), out []byte) {
	w, path, _ := newTestWriter(t, Options{Signer: testKey, CheckpointEvery: -1})
	if err := w.Output([]byte("before\r\n")); err != nil {
		t.Fatal(err)
	}
	breakIt(t, w)
	err := w.Output(out)
	if err == nil {
		t.Fatal("Output succeeded on a broken file")
	}
	if name == "full-disk" && !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Output: %v, want ENOSPC", err)
	}
	if err2 := w.Output([]byte("more")); err2 != err {
		t.Errorf("second Output: %v, want the first error again", err2)
	}
	if _, err := w.Close(ExitInfo{}); err == nil {
		t.Error("Close succeeded after a failed write")
	}
	if _, err := os.Stat(ManifestPath(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("manifest written after a failed write: %v", err)
	}
}

// Writes larger than one event, split into several, between small ones:
// the chain must be the one Verify computes from the file.
func TestLargeEventsChained(t *testing.T) {
	w, path, _ := newTestWriter(t, Options{Signer: testKey, CheckpointEvery: time.Millisecond})
	large := bytes.Repeat([]byte("0123456789abcdef\x00\x1b"), maxEventData/16)
	for i := range 6 {
		out := []byte(fmt.Sprintf("small %d\r\n", i))
		if i%2 == 1 {
			out = large[i:]
		}
		if err := w.Output(out); err != nil {
			t.Fatal(err)
		}
	}
	m, err := w.Close(ExitInfo{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Verify(path, testPub)
	if err != nil {
		t.Fatalf("Verify: %v (%v)", err, res)
	}
	if res.Events != m.Events || m.Events < 7 {
		t.Errorf("verified %d events, manifest says %d", res.Events, m.Events)
	}
}

func TestHeaderWriteFailure(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	if _, err := newWriter(full, "/dev/full", testHeader("s"), Options{}); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("newWriter on /dev/full: %v, want ENOSPC", err)
	}
}

func TestPeriodicCheckpoints(t *testing.T) {
	w, path, _ := newTestWriter(t, Options{Signer: testKey, CheckpointEvery: 5 * time.Millisecond})
	if err := w.Output([]byte("hello\r\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if data, _ := os.ReadFile(CheckpointsPath(path)); strings.Contains(string(data), `"events":1,`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint written within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
