package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// Dependencies point one way: cmd/bastion -> server -> the leaves. A leaf
// that imported server (or the CLI) would tie the packages into a knot.
func TestLeavesDoNotImportServer(t *testing.T) {
	const mod = "github.com/bastion-ssh/bastion/"
	leaves := []string{"certauth", "config", "policies", "recorder", "replay", "store", "devhost", "evidence", "cmdjudge", "approvals", "slackreview", "shellhook", "shipping", "internal/proxyrelay", "internal/nulrun", "internal/bytescan", "liveness"}
	for _, leaf := range leaves {
		out, err := exec.Command("go", "list", "-deps", "../"+leaf).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", leaf, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == mod+"server" || strings.HasPrefix(dep, mod+"cmd/") {
				t.Errorf("%s depends on %s", leaf, dep)
			}
		}
	}
}
