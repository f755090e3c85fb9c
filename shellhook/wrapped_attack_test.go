package shellhook

import "testing"

// A shell started through a program that runs its operand (exec -a NAME,
// env, nohup, sudo, ...) is as unguarded as one started by name: denied
// whatever the rules say, as "bash" is. The same wrappers around an
// ordinary command are not.
func TestTampersAttackWrappedShells(t *testing.T) {
	for _, c := range []string{"exec -a x /bin/bash", "exec -a -bash bash -l", "env bash", "env FOO=1 bash -i", "env -u X sh",
		"nohup bash", "setsid bash", "nice -n 5 bash", "nice -n5 zsh", "timeout 5 bash", "timeout -s KILL 5 sh", "stdbuf -o L bash",
		"sudo -s", "sudo -i", "sudo -iu postgres", "sudo -u postgres -i", "sudo bash", "sudo -u root bash", "sudo su", "sudo -- bash",
		"doas -s", "doas sh", "command exec bash", "builtin exec -a x bash"} {
		if Tampers(c) == "" {
			t.Errorf("%q not seen as a tamper", c)
		}
	}
	for _, c := range []string{"exec -a x ls", "env FOO=1 grep bash file", "nohup ./job.sh", "timeout 5 ls", "sudo -u postgres psql",
		"sudo -iu postgres psql", "sudo -l", "sudo", "nice ls", "env", "setsid -w ./daemon"} {
		if why := Tampers(c); why != "" {
			t.Errorf("%q seen as a tamper: %s", c, why)
		}
	}
}
