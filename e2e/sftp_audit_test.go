package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkg/sftp"
)

// In sftp pass-through, every operation is audited whatever its size (two
// 4 KiB paths in one rename), and each file's transfer leaves its size and
// SHA-256 in the audit log.
func TestSFTPPassthroughEvidence(t *testing.T) {
	requireTools(t, "sftp")
	g := newGateway(t)
	work := t.TempDir()
	local := filepath.Join(work, "up.bin")
	content := make([]byte, 300_000) // several WRITE and DATA packets
	rand.Read(content)
	if err := os.WriteFile(local, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	want := hex.EncodeToString(sum[:])
	remote := filepath.Join(work, "remote.bin")
	back := filepath.Join(work, "back.bin")
	// A path of 4 KiB: 16 components of 255 bytes (the longest a component
	// may be), under a directory that need not exist: the rename fails at
	// the target, after it was audited.
	var long strings.Builder
	for i := 0; i < 16; i++ {
		long.WriteString("/" + strings.Repeat(string(rune('a'+i)), 255))
	}
	batch := filepath.Join(work, "batch")
	script := fmt.Sprintf("put %s %s\nget %s %s\n", local, remote, remote, back)
	if err := os.WriteFile(batch, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(g.sshOpts(g.alice), "-b", batch, "-P", fmt.Sprint(g.port), "root@target@127.0.0.1")
	if r := runCmd(t, "sftp", args...); r.code != 0 {
		t.Fatalf("sftp: exit %d %q %q", r.code, r.stdout, r.stderr)
	}

	// sftp's batch lines are too short for such paths: an SFTP client
	// (pkg/sftp) over the stock ssh client's subsystem channel sends it.
	ssh := exec.Command("ssh", append(g.sshOpts(g.alice), "-s", "-p", fmt.Sprint(g.port), "root@target@127.0.0.1", "sftp")...)
	w, err := ssh.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	rd, err := ssh.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ssh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ssh.Process.Kill(); ssh.Wait() })
	c, err := sftp.NewClientPipe(rd, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Rename(long.String(), long.String()+"z"); err == nil {
		t.Error("rename of paths that do not exist succeeded")
	}
	c.Close()
	e := g.waitAudit(t, "sftp.rename", long.String()[:300])
	if e.Detail["path"] != long.String() || e.Detail["path2"] != long.String()+"z" {
		t.Errorf("rename audited with other paths: %+v", e.Detail)
	}
	var wrote, read bool
	g.waitAudit(t, "sftp.transfer", "")
	for _, e := range g.audit(t, "sftp.transfer") {
		switch e.Detail["path"] {
		case remote:
			wrote = wrote || e.Detail["sha256_written"] == want && fmt.Sprint(e.Detail["bytes_written"]) == fmt.Sprint(len(content))
			read = read || e.Detail["sha256_read"] == want
		}
	}
	if !wrote || !read {
		t.Errorf("transfers not evidenced (want sha256 %s): %+v", want, g.audit(t, "sftp.transfer"))
	}
}
