package recorder

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testKey is a fixed Ed25519 key for tests.
var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// otherKey is a second key, for signatures by the wrong key.
var otherKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))

var (
	testPub  = testKey.Public().(ed25519.PublicKey)
	otherPub = otherKey.Public().(ed25519.PublicKey)
)

// fakeSigner is a crypto.Signer whose key is not Ed25519.
type fakeSigner struct{}

func (fakeSigner) Public() crypto.PublicKey { return "not an ed25519 key" }
func (fakeSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("fakeSigner cannot sign")
}

var testStart = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: testStart} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func testHeader(id string) Header {
	return Header{
		Width: 120, Height: 40,
		Command: "journalctl -u app",
		Title:   "prod-db-1",
		Env:     map[string]string{"TERM": "xterm-256color", "SHELL": "/bin/bash"},
		Session: Meta{
			SessionID: id,
			Identity:  "alice@example.org",
			Groups:    []string{"sre", "oncall"},
			Source:    "192.0.2.10:51234",
			Target:    "db-1.internal",
			Login:     "postgres",
			Kind:      KindShell,
		},
	}
}

// newTestWriter creates a signed recording in a temporary directory with a
// fake clock and no periodic checkpoints.
func newTestWriter(t *testing.T, opts Options) (*Writer, string, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	if opts.Clock == nil {
		opts.Clock = clk.Now
	}
	path := filepath.Join(t.TempDir(), "rec", "s1.cast")
	w, err := Create(path, testHeader("s1"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(ExitInfo{}) })
	return w, path, clk
}

// readLines returns the lines of a file, without newlines.
func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// event is a decoded event line.
type event struct {
	Time float64
	Code string
	Data string
}

func decodeEvent(t *testing.T, line []byte) event {
	t.Helper()
	var raw []json.RawMessage
	if err := json.Unmarshal(line, &raw); err != nil || len(raw) != 3 {
		t.Fatalf("event line %q: %v", line, err)
	}
	var e event
	for i, dst := range []any{&e.Time, &e.Code, &e.Data} {
		if err := json.Unmarshal(raw[i], dst); err != nil {
			t.Fatalf("event line %q: %v", line, err)
		}
	}
	return e
}
