// Package packaging holds the Debian package's files (nfpm.yaml, the
// systemd unit, maintainer scripts) and the test that installs it.
package packaging

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestDebianPackage builds the package with `make package`, installs it
// with dpkg on this machine, and does what an operator does first:
// bastion version, bastion init, serve --check as the service user. Then
// it removes the package.
func TestDebianPackage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: installs the package with dpkg -i (run make test as root to cover it)")
	}
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("no dpkg: not a Debian machine")
	}
	if exec.Command("dpkg", "-s", "bastion").Run() == nil {
		t.Skip("a bastion package is already installed here; not replacing it")
	}
	run(t, "make", "package")
	debs, _ := filepath.Glob("../dist/bastion_*_amd64.deb")
	for i := range debs {
		debs[i], _ = filepath.Abs(debs[i])
	}
	if len(debs) != 1 {
		t.Fatalf("want one package in dist/, got %v", debs)
	}
	run(t, "dpkg", "-i", debs[0])
	removed := false
	t.Cleanup(func() {
		if !removed {
			exec.Command("dpkg", "--purge", "bastion").Run()
		}
	})

	if out := run(t, "/usr/bin/bastion", "version"); !strings.HasPrefix(out, "bastion 0.") && !strings.HasPrefix(out, "bastion 1.") {
		t.Errorf("bastion version:\n%s", out)
	}
	if _, err := user.Lookup("bastion"); err != nil {
		t.Fatalf("the package did not create the service user: %v", err)
	}
	unit, err := os.ReadFile("/usr/lib/systemd/system/bastion.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"User=bastion", "ProtectSystem=strict", "NoNewPrivileges=yes", "ReadWritePaths=/var/lib/bastion", "Restart=on-failure",
		"ExecStartPre=/usr/bin/bastion serve --check"} {
		if !strings.Contains(string(unit), want+"\n") && !strings.Contains(string(unit), want+" ") {
			t.Errorf("unit lacks %s", want)
		}
	}
	for _, f := range []string{"/usr/share/man/man1/bastion.1.gz", "/usr/share/man/man1/bastion-init.1.gz",
		"/usr/share/bash-completion/completions/bastion", "/usr/share/zsh/vendor-completions/_bastion", "/usr/share/doc/bastion/copyright"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	if st, err := os.Stat("/etc/bastion"); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("/etc/bastion: %v %v, want a 0700 directory", st, err)
	}

	// init as root hands the files to the service user, which can then
	// check them (and would serve them).
	tmp := t.TempDir()
	for _, d := range []string{filepath.Dir(tmp), tmp} {
		os.Chmod(d, 0o755) // let the service user reach the directory init makes
	}
	cfgDir := filepath.Join(tmp, "etc")
	out := run(t, "/usr/bin/bastion", "init", "--dir", cfgDir, "--data", filepath.Join(tmp, "data"))
	if !strings.Contains(out, "owned by bastion") || !strings.Contains(out, "TrustedUserCAKeys") {
		t.Errorf("bastion init:\n%s", out)
	}
	run(t, "runuser", "-u", "bastion", "--", "/usr/bin/bastion", "serve", "--check", "--config", filepath.Join(cfgDir, "config.yaml"))

	run(t, "dpkg", "-r", "bastion")
	removed = true
	if _, err := os.Stat("/usr/bin/bastion"); err == nil {
		t.Error("/usr/bin/bastion still there after dpkg -r")
	}
	exec.Command("dpkg", "--purge", "bastion").Run()
}
