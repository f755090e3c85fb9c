package shellhook

import "testing"

func TestTampers(t *testing.T) {
	tampers := []string{
		"trap - DEBUG", "trap '' DEBUG", "'trap' - DEBUG", `\trap - DEBUG`, "builtin trap - DEBUG", "command -p trap - DEBUG",
		"set +T", "set +o functrace", "set -m", "set -o monitor", "set +eT", "set $X", "shopt -u extdebug", "shopt -uo functrace",
		"unset BASH_COMMAND", "BASH_COMMAND=ls", "unset -v SRANDOM", "readonly POSIXLY_CORRECT", "unset $V",
		"declare -n r=$V", "enable -n read", "enable -f x.so y", "bash", "bash -i", "exec bash", "sh", "zsh -l",
		"tmux", "screen", "su", "script", "/bin/bash --norc", "{trap,-,DEBUG}", "tra? - DEBUG", "x=1 bash",
		"printf -v $V x", "__bastion_hook() { :; }", "unset -f __bastion_hook", "echo 'unclosed",
		"declare -n __bastion_c='a[$(rm x)]'", "__bastion_ok=1", "PS4='$(rm x)'", "export PS4", "read -r PS4",
		"hash -p /bin/rm ls", "builtin hash -dp /bin/rm ls", "hash $O", "BASH_CMDS[ls]=/bin/rm",
	}
	for _, c := range tampers {
		if Tampers(c) == "" {
			t.Errorf("%q not seen as a tamper", c)
		}
	}
	fine := []string{"ls -la", "set -o vi", "set -x", "shopt -s histappend", "trap -p", "export PATH=$PATH:/x",
		"local x=\"$1\"", "bash -c 'echo hi'", "sh script.sh", "echo trap", "vim f", "top", "printf '%s\\n' \"$x\"",
		"cd /tmp && ls", "enable -a", "hash", "hash -r", "hash -t ls", "su -c id", `[ -n "$x" ]`, "[[ -n $x ]]"}
	for _, c := range fine {
		if why := Tampers(c); why != "" {
			t.Errorf("%q seen as a tamper: %s", c, why)
		}
	}
}

func TestSeenThrough(t *testing.T) {
	for c, want := range map[string]bool{"eval 'rm x'": true, ". ~/.profile": true, "source $F": true,
		"eval x; rm y": false, "X=1 eval y": false, "bash -c x": false, "eval x &": false,
		"for i in /etc/profile.d/*.sh": true, "case \"$x\" in ": true, "'for' x": false} {
		if got := SeenThrough(c); got != want {
			t.Errorf("SeenThrough(%q) = %v", c, got)
		}
	}
}

func FuzzTampers(f *testing.F) {
	for _, s := range []string{"trap - DEBUG", "set +T", "ls", "$(x)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { _ = Tampers(s) })
}
