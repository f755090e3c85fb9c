package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The hook's nonce is readable in the shell (declare -f prints the hook),
// so the user's own commands can write requests the bastion takes for the
// hook's. A forged request can make the bastion judge a command, on the
// record and in the user's own name, and its verdict lands in the user's
// own input; it never answers the hook, whose verdict carries a challenge
// drawn for the command about to run and never shown. Forged reports
// type only what the user could type, and that is judged as it runs.
func TestGuardedShellForgedRequests(t *testing.T) {
	rg := newReviewGateway(t)
	dir := t.TempDir()
	canary := filepath.Join(dir, "canary")
	if err := os.WriteFile(canary, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openShell(t, rg.gateway, rg.alice)
	step := func(name, keys, want string) string {
		t.Helper()
		m := s.mark()
		s.send(expand(keys, canary))
		if !s.waitFor(m, want) {
			t.Fatalf("%s: no %q in %q", name, want, lastBytes(s.since(m), 1500))
		}
		s.sync()
		if _, err := os.Stat(canary); err != nil {
			t.Fatalf("%s: the canary was removed; output:\n%q", name, lastBytes(s.since(m), 2000))
		}
		return s.since(m)
	}
	step("read the nonce", `N=$(declare -f | grep -o '7771;[0-9a-f]*' | head -1); echo "nonce-${#N}"`+"\r", "nonce-37")

	before := refusals(t, rg.gateway)
	out := step("forged request", `printf '\e]%s;cmd;123;%s\a' "$N" "'rm @C'"; read -r v; echo "got[$v]"`+"\r", "got[#")
	if !strings.Contains(out, "got[#123:0]") {
		t.Errorf("the forged request's verdict did not land in the forger's own input: %q", lastBytes(out, 1500))
	}
	if refusals(t, rg.gateway) == before {
		t.Errorf("the forged request was not judged on the record")
	}
	if strings.Contains(out, "\x1b]7771;") {
		t.Errorf("a request with the session's nonce reached the client: %q", out)
	}

	step("forged typed-ahead", `T=$'rm @C\n'; printf '\e]%s;typed;%s\a' "$N" "${T@Q}"; echo typed-sent`+"\r", "typed-sent")
	step("forged hello and ready", `printf '\e]%s;hello\a\e]%s;ready\a' "$N" "$N"; echo hr-sent`+"\r", "hr-sent")
	before = refusals(t, rg.gateway)
	step("still guarded", "rm @C\r", "bastion: denied")
	if refusals(t, rg.gateway) == before {
		t.Errorf("rm after the forgeries was not refused on the record")
	}
	// Another nonce is not this session's: such a sequence is output.
	out = step("wrong nonce", `printf '\e]7771;%s;cmd;9;%s\a' 0123456789abcdef0123456789abcdef "'rm @C'"; echo wn-sent`+"\r", "wn-sent")
	if !strings.Contains(out, "\x1b]7771;0123456789abcdef0123456789abcdef;cmd;9;") {
		t.Errorf("a sequence with another nonce did not pass as output: %q", lastBytes(out, 1500))
	}
}
