package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/evidence"
)

// bundleFixture exports a bundle from a stopped bastion that recorded a
// masked session and a plain one.
func bundleFixture(t *testing.T) (g *gateway, bundle string) {
	t.Helper()
	g = newGateway(t)
	csv := filepath.Join(t.TempDir(), "patients.csv")
	if err := os.WriteFile(csv, []byte(patientsCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"cat " + csv, "echo bundle-$((6*7))"} {
		if r := g.ssh(t, g.alice, "root@target", cmd); r.code != 0 {
			t.Fatalf("%s: exit %d %s", cmd, r.code, r.stderr)
		}
	}
	g.waitSession(t, func(s sessionRow) bool { return strings.HasPrefix(s.Command, "echo bundle") })
	g.waitAudit(t, "masking.applied", "ssn")
	g.stop()
	bundle = filepath.Join(t.TempDir(), "evidence.tar")
	out := g.cli(t, "evidence", "export", "--since", "1h", "-o", bundle)
	if !strings.Contains(out, "2 sessions") {
		t.Fatalf("export: %s", out)
	}
	return g, bundle
}

// An exported bundle verifies on its own, in an empty folder, with only
// the bastion binary; it holds no planted identifier.
func TestEvidenceBundleVerifies(t *testing.T) {
	g, bundle := bundleFixture(t)
	alone := filepath.Join(t.TempDir(), "auditor")
	os.MkdirAll(alone, 0o700)
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(alone, "evidence.tar")
	os.WriteFile(copyPath, data, 0o600)
	r := runCmd(t, bastionBin, "evidence", "verify", copyPath, "--key", filepath.Join(g.dir, "signing_key.pub"))
	if r.code != 0 || !strings.Contains(r.stdout, "verified:") || !strings.Contains(r.stdout, "2 sessions") {
		t.Fatalf("evidence verify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	unpacked := untar(t, data)
	(&bastion{dir: unpacked, stderr: &syncBuffer{}}).assertNothingAtRest(t, planted)
}

// untar unpacks a bundle into a new folder.
func untar(t *testing.T, data []byte) string {
	t.Helper()
	dir := t.TempDir()
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		os.MkdirAll(filepath.Dir(p), 0o700)
		b, _ := io.ReadAll(tr)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// members reads a bundle's members in order.
func members(t *testing.T, data []byte) ([]*tar.Header, [][]byte) {
	t.Helper()
	var hs []*tar.Header
	var bodies [][]byte
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs, bodies
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		hs, bodies = append(hs, h), append(bodies, b)
	}
}

func repack(t *testing.T, hs []*tar.Header, bodies [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, h := range hs {
		h := *h
		h.Size = int64(len(bodies[i]))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write(bodies[i])
	}
	tw.Close()
	return buf.Bytes()
}

func verifyBundle(t *testing.T, data []byte) []string {
	t.Helper()
	res, err := evidence.Verify(bytes.NewReader(data), nil)
	if err != nil {
		return []string{err.Error()}
	}
	return res.Problems
}

// Flipping one byte of any member, removing a member, adding one or
// altering the manifest each fails verification, naming the member.
func TestEvidenceBundleTamper(t *testing.T) {
	_, bundle := bundleFixture(t)
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if p := verifyBundle(t, data); len(p) != 0 {
		t.Fatalf("untouched bundle: %q", p)
	}
	hs, bodies := members(t, data)
	for i, h := range hs {
		if len(bodies[i]) == 0 {
			continue // no byte to flip (a checkpoints file of a short session)
		}
		flipped := make([][]byte, len(bodies))
		copy(flipped, bodies)
		b := bytes.Clone(bodies[i])
		b[len(b)/2] ^= 0x01
		flipped[i] = b
		want := h.Name
		problems := verifyBundle(t, repack(t, hs, flipped))
		if len(problems) == 0 || !strings.Contains(problems[0], want) {
			t.Errorf("byte flipped in %s: problems %q", h.Name, problems)
		}
	}
	for i, h := range hs {
		if h.Name == "MANIFEST.json" {
			continue
		}
		rest := append(append([]*tar.Header{}, hs[:i]...), hs[i+1:]...)
		restBodies := append(append([][]byte{}, bodies[:i]...), bodies[i+1:]...)
		problems := verifyBundle(t, repack(t, rest, restBodies))
		if len(problems) == 0 || !strings.Contains(problems[0], h.Name+" is missing") {
			t.Errorf("removed %s: problems %q", h.Name, problems)
		}
	}
	extra := &tar.Header{Name: "sessions/planted.txt", Mode: 0o644, Typeflag: tar.TypeReg, ModTime: time.Now()}
	problems := verifyBundle(t, repack(t, append([]*tar.Header{extra}, hs...), append([][]byte{[]byte("x")}, bodies...)))
	if len(problems) == 0 || !strings.Contains(problems[0], "sessions/planted.txt is not in the manifest") {
		t.Errorf("added member: %q", problems)
	}
	// The manifest altered to match an altered member.
	last := len(hs) - 1
	altered := bytes.Replace(bodies[last], []byte(`"size": `), []byte(`"size": 1`), 1)
	problems = verifyBundle(t, repack(t, hs, append(append([][]byte{}, bodies[:last]...), altered)))
	if len(problems) == 0 || !strings.Contains(problems[0], "MANIFEST.json") {
		t.Errorf("altered manifest: %q", problems)
	}
}

// index.html and each session's player open from disk in headless
// Chromium with no network, and the recording plays.
func TestEvidenceBundleInBrowser(t *testing.T) {
	requireTools(t, "chromium")
	_, bundle := bundleFixture(t)
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	dir := untar(t, data)
	index := dumpDOM(t, filepath.Join(dir, "index.html"))
	if !strings.Contains(index, "alice@example.com") || !strings.Contains(index, "play.html") {
		t.Fatalf("index.html:\n%.3000s", index)
	}
	players, _ := filepath.Glob(filepath.Join(dir, "sessions", "*", "play.html"))
	played := false
	for _, p := range players {
		dom := dumpDOM(t, p)
		if strings.Contains(dom, "bundle-42") && strings.Contains(dom, "ap-line") {
			played = true
		}
	}
	if !played {
		t.Errorf("no player showed the recording's output (%d players)", len(players))
	}
}

// dumpDOM opens a file in headless Chromium with every network request
// refused and returns the DOM after its scripts ran.
func dumpDOM(t *testing.T, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	chrome := exec.CommandContext(ctx, "chromium", "--headless", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
		"--allow-file-access-from-files", "--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom",
		"file://"+path)
	chrome.WaitDelay = 5 * time.Second
	var dom, errs bytes.Buffer
	chrome.Stdout, chrome.Stderr = &dom, &errs
	if err := chrome.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, errs.String())
	}
	return dom.String()
}
