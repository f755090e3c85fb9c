package e2e

import (
	"os"
	"strings"
	"testing"
)

// Recordings are tamper-evident: each verifies against its signed
// manifest, every session is in the signed log, and an altered or deleted
// recording is reported by `bastion verify`.
func TestEvidenceVerification(t *testing.T) {
	g := newGateway(t)
	for _, cmd := range []string{"echo one", "echo two"} {
		if r := g.ssh(t, g.alice, "root@target", cmd); r.code != 0 {
			t.Fatalf("%s: exit %d %s", cmd, r.code, r.stderr)
		}
	}
	one := g.waitSession(t, func(s sessionRow) bool { return s.Command == "echo one" })
	two := g.waitSession(t, func(s sessionRow) bool { return s.Command == "echo two" })
	if out := g.cli(t, "verify", one.ID); !strings.Contains(out, "verified:") || !strings.Contains(out, "signed") {
		t.Errorf("verify %s: %s", one.ID, out)
	}
	if out := g.cli(t, "verify", "--all"); !strings.Contains(out, "all 2 recorded sessions verified") {
		t.Errorf("verify --all: %s", out)
	}

	// Alter one byte of the output in the first recording.
	data, err := os.ReadFile(one.Recording)
	if err != nil {
		t.Fatal(err)
	}
	altered := strings.Replace(string(data), "one", "0ne", 1)
	if err := os.WriteFile(one.Recording, []byte(altered), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, bastionBin, "verify", "--data", g.dir, one.ID)
	if r.code == 0 || !strings.Contains(r.stderr, "chain") {
		t.Errorf("an altered recording verified: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	// Delete the second one entirely.
	if err := os.Remove(two.Recording); err != nil {
		t.Fatal(err)
	}
	r = runCmd(t, bastionBin, "verify", "--data", g.dir, "--all")
	if r.code == 0 || !strings.Contains(r.stdout, two.ID+": recording") || !strings.Contains(r.stdout, "missing") {
		t.Errorf("a deleted recording went unnoticed: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, one.ID) {
		t.Errorf("the altered recording was not reported:\n%s", r.stdout)
	}
}
