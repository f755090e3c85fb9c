package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bastion-ssh/bastion/certauth"
)

// Agent forwarding reaches the target only where the access rule allows
// it; elsewhere the request is refused and audited.
func TestAgentForwardingFollowsPolicy(t *testing.T) {
	requireTools(t, "ssh-agent", "ssh-add")
	policy := `access:
  - name: with-agent
    identities: [dora@example.com]
    targets: [target]
    logins: [root]
    agent_forwarding: true
  - name: ops-everywhere
    groups: [ops]
    targets: ["*"]
    logins: [root]
`
	g := newGatewayWith(t, t.TempDir(), "", policy)
	dora := newClient(t, g.userCA, certauth.UserRequest{Identity: "dora@example.com", Groups: []string{"ops"}})

	// A real ssh-agent holding a key the target can list.
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	waitFile(t, sock)
	agentKey := filepath.Join(t.TempDir(), "agent_key")
	writeKey(t, agentKey)
	add := exec.Command("ssh-add", agentKey)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	fp := runCmd(t, "ssh-keygen", "-lf", agentKey+".pub").stdout
	fingerprint := strings.Fields(fp)[1]

	sshA := func(c client) result {
		args := append(g.sshOpts(c), "-A", "-o", "IdentityAgent="+sock, "-p", fmt.Sprint(g.port), "root@target@127.0.0.1", "ssh-add -l")
		return runCmd(t, "ssh", args...)
	}
	if r := sshA(dora); r.code != 0 || !strings.Contains(r.stdout, fingerprint) {
		t.Errorf("allowed: ssh-add -l on the target = exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	g.waitAudit(t, "agent.use", "")
	if r := sshA(g.alice); r.code == 0 || strings.Contains(r.stdout, fingerprint) {
		t.Errorf("not allowed: the target reached the agent: exit %d %q", r.code, r.stdout)
	}
	g.waitAudit(t, "session.agent-forwarding", "not allowed by policy")
}
