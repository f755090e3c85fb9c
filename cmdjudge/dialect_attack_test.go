package cmdjudge

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/bastion-ssh/bastion/policies"
)

// sshd runs an exec request with the login's own shell, which need not be
// bash: a line bash reads as one harmless echo may delete under dash (a
// common /bin/sh and service-account shell) or zsh. Such lines are
// reviewed, never allowed.
func TestJudgeAttackShellDialects(t *testing.T) {
	cmds := loadPolicy(t)
	for _, line := range []string{
		`echo $'a\' ; rm -f x ; # \''`, // dash: echo $a\ ; rm -f x ; # ...
		`=rm -f x`,                     // zsh: =rm is /usr/bin/rm
		`echo *(e:'rm -f x':)`,         // zsh: glob qualifier runs code
	} {
		if d := Judge(cmds, dev, line); d.Action == policies.CommandAllow {
			t.Errorf("%q: allowed by %s (%s)", line, d.Rule, d.Reason)
		}
	}

	// The first line really deletes under dash, which is what makes it
	// matter.
	dash, err := exec.LookPath("dash")
	if err != nil {
		t.Skip("dash not installed; the judge part above ran")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dash, "-c", `echo $'a\' ; rm -f x ; # \''`)
	cmd.Dir = dir
	_ = cmd.Run()
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Log("this dash reads $'...' as bash does")
	}
}

// Options that make a program run a command are seen: a deny rule for rm
// is not passed by handing rm to scp, rsync, ssh or tar.
func TestJudgeAttackRunOptions(t *testing.T) {
	cmds := loadPolicy(t)
	for _, line := range []string{
		"scp -S rm x y:",
		"scp -Srm x y:",
		"rsync -e 'rm -f x' a b:",
		"rsync --rsh='rm -f x' a b:",
		"ssh -o ProxyCommand='rm x' h",
		"ssh -oLocalCommand=id -o PermitLocalCommand=yes h",
		"scp -F ./evil.conf a h:",
		"tar -cf /dev/null --checkpoint=1 --checkpoint-action=exec='rm x' .",
		"tar --to-command='rm x' -xf a.tar",
		"git -c core.pager='rm x' log",
	} {
		if d := Judge(cmds, dev, line); d.Action == policies.CommandAllow {
			t.Errorf("%q: allowed by %s (%s)", line, d.Rule, d.Reason)
		}
	}
	for _, line := range []string{"scp a h:b", "rsync -av a b:", "rsync --server -vlogDtpr -e.iLsfxCIvu . /srv/x", "scp -t -- /tmp", "scp -o ConnectTimeout=5 a h:", "tar -xf a.tar", "git log"} {
		if d := Judge(cmds, dev, line); d.Action != policies.CommandAllow {
			t.Errorf("%q: %s by %s (%s), want allow", line, d.Action, d.Rule, d.Reason)
		}
	}
}

// An exec that starts an interactive shell (with ssh -t) runs everything
// typed into it unjudged: such programs are reviewed, as sudo -s and su
// already are.
func TestJudgeAttackShellStarters(t *testing.T) {
	cmds := loadPolicy(t)
	for _, line := range []string{
		"script -q /dev/null", "ssh localhost", "nsenter -t 1 -m", "sg wheel", "newgrp", "tmux", "screen",
		"systemd-run --shell", "socat - exec:bash,pty",
	} {
		if d := Judge(cmds, dev, line); d.Action == policies.CommandAllow {
			t.Errorf("%q: allowed by %s (%s)", line, d.Rule, d.Reason)
		}
	}
	if d := Judge(cmds, dev, "script -qc 'rm x' /dev/null"); d.Action != policies.CommandDeny {
		t.Errorf("script -c rm: %s by %s (%s)", d.Action, d.Rule, d.Reason)
	}
}
