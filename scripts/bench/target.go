package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
)

// startSSHD runs the target: a stock sshd trusting the target CA.
func (e *env) startSSHD(ctx context.Context, targetCA ssh.PublicKey) error {
	dir := filepath.Join(e.dir, "sshd")
	hostKey, err := certauth.LoadOrCreateKey(filepath.Join(dir, "host_key"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pub"), ssh.MarshalAuthorizedKey(targetCA), 0o644); err != nil {
		return err
	}
	_ = os.MkdirAll("/run/sshd", 0o755) // privilege separation directory
	// Sessions get an empty HOME: the login user's shell start-up files
	// (bash reads ~/.bashrc under sshd) would add their own cost, and
	// possibly background processes holding the session open, to both
	// paths alike.
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %[2]s/host_key
PidFile %[2]s/sshd.pid
TrustedUserCAKeys %[2]s/ca.pub
AuthorizedKeysFile none
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
UseDNS no
X11Forwarding no
PrintMotd no
PrintLastLog no
MaxStartups 2000
MaxSessions 64
LogLevel INFO
SetEnv HOME=%[2]s/home
Subsystem sftp internal-sftp
`, port, dir)
	cfgPath := filepath.Join(dir, "sshd_config")
	// Newer sshd penalises sources that open many connections; the
	// harness opens hundreds from 127.0.0.1 on purpose. Older versions do
	// not know the option, so it is added only when sshd accepts it.
	for _, extra := range []string{"PerSourcePenalties no\n", ""} {
		if err := os.WriteFile(cfgPath, []byte(cfg+extra), 0o600); err != nil {
			return err
		}
		if command(ctx, sshdPath, "-t", "-f", cfgPath).Run() == nil {
			break
		}
	}
	cmd := exec.Command(sshdPath, "-D", "-f", cfgPath, "-E", filepath.Join(dir, "sshd.log"))
	if e.sshd, err = e.startServer(ctx, cmd, port); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "sshd.log"))
		return fmt.Errorf("%w\n%s", err, b)
	}
	return writeKnownHosts(filepath.Join(e.dir, "known_hosts.direct"), port, hostKey.PublicKey())
}
