package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReplayInBrowser: `bastion replay --web` plays a recording in a real
// browser (headless Chromium), under the session's identity and its
// verification; a tampered recording is shown under a warning.
func TestReplayInBrowser(t *testing.T) {
	requireTools(t, "chromium")
	g := newGateway(t)
	cmd := "echo browser-replay-$((6*7))"
	if r := g.ssh(t, g.alice, "root@target", cmd); r.stdout != "browser-replay-42\n" {
		t.Fatalf("ssh: %d %q %s", r.code, r.stdout, r.stderr)
	}
	s := g.waitSession(t, func(s sessionRow) bool { return s.Command == cmd && s.EndedAt != "" })

	dom := browse(t, g.bastion, s.ID)
	for _, want := range []string{"browser-replay-42", "alice@example.com", `class="ok">verified:`, "ap-line"} {
		if !strings.Contains(dom, want) {
			t.Errorf("page lacks %q:\n%.3000s", want, dom)
		}
	}
	// Watching a session is itself audited: access to what it showed.
	if ev := g.waitAudit(t, "recording.view", "(web)"); ev.SessionID != s.ID {
		t.Errorf("recording.view names session %q, want %q", ev.SessionID, s.ID)
	}

	// The same recording with one output byte changed.
	cast, err := os.ReadFile(s.Recording)
	if err != nil {
		t.Fatal(err)
	}
	forged := filepath.Join(t.TempDir(), "forged.cast")
	if err := os.WriteFile(forged, bytes.Replace(cast, []byte("browser-replay-42"), []byte("browser-replay-43"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	// Its signed manifest and checkpoints travel with it, so only the
	// changed byte can make it fail.
	for _, ext := range []string{".manifest.json", ".checkpoints"} {
		b, err := os.ReadFile(strings.TrimSuffix(s.Recording, ".cast") + ext)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(strings.TrimSuffix(forged, ".cast")+ext, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dom = browse(t, g.bastion, forged, "--key", filepath.Join(g.dir, "signing_key.pub"))
	if !strings.Contains(dom, `class="bad">NOT VERIFIED`) {
		t.Errorf("forged recording not flagged:\n%.3000s", dom)
	}
}

// browse serves a recording with `bastion replay --web` and returns the
// DOM headless Chromium has built after the player ran.
func browse(t *testing.T, b *bastion, recording string, args ...string) string {
	t.Helper()
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	args = append([]string{"replay", "--web", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data", b.dir}, args...)
	srv := exec.CommandContext(ctx, bastionBin, append(args, recording)...)
	var out bytes.Buffer
	srv.Stdout, srv.Stderr = &out, &out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		srv.Wait()
	}()
	waitPort(t, fmt.Sprintf("127.0.0.1:%d", port), srv.Process)

	bctx, bcancel := context.WithTimeout(ctx, 60*time.Second)
	defer bcancel()
	chrome := exec.CommandContext(bctx, "chromium", "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom",
		fmt.Sprintf("http://127.0.0.1:%d/", port))
	chrome.WaitDelay = 5 * time.Second // its helper processes may hold the pipes
	var dom, errs bytes.Buffer
	chrome.Stdout, chrome.Stderr = &dom, &errs
	if err := chrome.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s\nserver: %s", err, errs.String(), out.String())
	}
	return dom.String()
}
