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
	// Sessions get an empty HOME: the login user's shell start-up files
	// (bash reads ~/.bashrc under sshd) would add their own cost, and
	// possibly background processes holding the session open, to both
	// paths alike.
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	srv, hostKey, err := e.startStockSSHD(ctx, dir, targetCA, fmt.Sprintf(`SetEnv HOME=%s
Subsystem sftp internal-sftp
`, home))
	if err != nil {
		return err
	}
	e.sshd = srv
	return writeKnownHosts(filepath.Join(e.dir, "known_hosts.direct"), srv.port, hostKey)
}

// startStockSSHD runs an sshd from dir trusting ca for root's
// certificates, with extra appended to the common configuration, and
// returns it with its host key.
func (e *env) startStockSSHD(ctx context.Context, dir string, ca ssh.PublicKey, extra string) (*server, ssh.PublicKey, error) {
	hostKey, err := certauth.LoadOrCreateKey(filepath.Join(dir, "host_key"))
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pub"), ssh.MarshalAuthorizedKey(ca), 0o644); err != nil {
		return nil, nil, err
	}
	_ = os.MkdirAll("/run/sshd", 0o755) // privilege separation directory
	port, err := freePort()
	if err != nil {
		return nil, nil, err
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
`, port, dir) + extra
	cfgPath := filepath.Join(dir, "sshd_config")
	// Newer sshd penalises sources that open many connections; the
	// harness opens hundreds from 127.0.0.1 on purpose. Older versions do
	// not know the option, so it is added only when sshd accepts it.
	for _, more := range []string{"PerSourcePenalties no\n", ""} {
		if err := os.WriteFile(cfgPath, []byte(cfg+more), 0o600); err != nil {
			return nil, nil, err
		}
		if command(ctx, sshdPath, "-t", "-f", cfgPath).Run() == nil {
			break
		}
	}
	cmd := exec.Command(sshdPath, "-D", "-f", cfgPath, "-E", filepath.Join(dir, "sshd.log"))
	srv, err := e.startServer(ctx, cmd, port)
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "sshd.log"))
		return nil, nil, fmt.Errorf("%w\n%s", err, b)
	}
	return srv, hostKey.PublicKey(), nil
}
