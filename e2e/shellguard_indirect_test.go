package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// indirectAttempts reach a denied program through what the shell expands
// or looks up after the hook saw the command's text: words built at run
// time, the builtins that run another command, names bound to another
// program, and the shell's own hooks into its prompt, tracing,
// completion and lookup.
func indirectAttempts() []attempt {
	a := func(name string, keys ...string) attempt { return attempt{name: name, keys: keys} }
	return []attempt{
		a("command-variable", "X=rm; command $X @C\r"),
		a("exec-variable", "X=rm; exec $X @C\r"),
		a("eval-variable", "X='rm @C'; eval \"$X\"\r"),
		a("array", "A=(rm @C); \"${A[@]}\"\r"),
		a("ansi-c-name", "$'\\x72m' @C\r"),
		a("substring", "X=xrm; ${X:1} @C\r"),
		a("indirect", "Y=rm; X=Y; ${!X} @C\r"),
		a("printf-v", "printf -v X %s rm; $X @C\r"),
		a("read-here-string", "read X <<< rm; $X @C\r"),
		a("alias-named-allowed", "alias ls=rm\r", "ls @C\r", "unalias ls\r"),
		a("function-named-allowed", "ls() { command rm \"$@\"; }\r", "ls @C\r", "unset -f ls\r"),
		a("builtin-eval", "builtin eval 'rm @C'\r"),
		a("command-eval", "command eval 'rm @C'\r"),
		a("builtin-command", "builtin command rm @C\r"),
		a("command-exec", "command exec rm @C\r"),
		a("exec-a", "exec -a ls /bin/rm @C\r"),
		a("hash-p", "hash -p /bin/rm ls; ls @C\r"),
		a("bash-cmds", "BASH_CMDS[ls]=/bin/rm; ls @C\r"),
		a("not-found-handler", "command_not_found_handle() { rm @C; }\r", "nosuchcommand-xyz\r"),
		a("mapfile-callback", "mapfile -C 'rm @C #' -c 1 X <<< a\r"),
		a("source-process-subst", "source <(echo 'rm @C')\r"),
		a("ps4-xtrace", "PS4='$(rm @C)'; set -x; true\r", "set +x\r"),
		a("nameref-hook-state", "declare -n __bastion_c='a[$(rm @C)]'\r", "true\r"),
		a("ps1-cmdsubst", "PS1='$(rm @C)> '\r", "true\r", "PS1='$ '\r"),
		a("prompt-command", "PROMPT_COMMAND='rm @C'\r", "true\r", "PROMPT_COMMAND=\r"),
		a("completion-command", "complete -C 'rm @C' zz\r", "zz \t\t\x15\r", "complete -r zz\r"),
		a("time", "time rm @C\r"),
		a("negation", "! rm @C\r"),
		a("setsid", "setsid rm @C\r"),
		a("timeout", "timeout 5 rm @C\r"),
		a("nohup", "nohup rm @C\r"),
	}
}

// A denied program is judged by what runs, however the name is reached:
// each attempt leaves the canary in place and an audited refusal.
func TestGuardedShellDeniesRmIndirect(t *testing.T) {
	rg := newReviewGateway(t)
	dir := t.TempDir()
	canary := filepath.Join(dir, "canary")
	if err := os.WriteFile(canary, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openShell(t, rg.gateway, rg.alice)
	for _, at := range indirectAttempts() {
		before := refusals(t, rg.gateway)
		out := s.run(at, canary)
		if _, err := os.Stat(canary); err != nil {
			t.Fatalf("%s: the canary was removed; output:\n%q", at.name, lastBytes(out, 2000))
		}
		if refusals(t, rg.gateway) == before {
			t.Errorf("%s: no refusal audited; output:\n%q", at.name, lastBytes(out, 1500))
		}
		if strings.Contains(out, "Connection to") {
			t.Fatalf("%s: the shell ended; output:\n%q", at.name, lastBytes(out, 1500))
		}
	}
}
