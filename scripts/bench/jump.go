package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// jumpHost is the name the jump path's ssh configuration gives the jump
// host; `ssh -J` passes the -F file on to the ssh it runs for the hop.
const jumpHost = "bench-jump"

// startJump runs the anchor the bastion is weighed against: a second
// stock sshd on loopback that only forwards to the target (`ssh -J`). It
// records and masks nothing; it trusts the target CA, so the client's
// direct certificate opens both hops.
func (e *env) startJump(ctx context.Context, targetCA ssh.PublicKey) error {
	dir := filepath.Join(e.dir, "jump")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// No sessions, no forwarding but to the target: a jump host as a
	// careful administrator would configure it.
	extra := fmt.Sprintf("AllowTcpForwarding local\nPermitOpen 127.0.0.1:%d\nPermitTTY no\nForceCommand /bin/false\n", e.sshd.port)
	srv, hostKey, err := e.startStockSSHD(ctx, dir, targetCA, extra)
	if err != nil {
		return err
	}
	e.jump = srv
	known := filepath.Join(e.dir, "known_hosts.jump")
	if err := writeKnownHosts(known, srv.port, hostKey); err != nil {
		return err
	}
	// One ssh configuration per cipher: options on ssh's command line
	// apply to the destination only, the hop reads them from -F.
	e.jumpConfigs = map[string]string{}
	for _, c := range ciphers {
		path := filepath.Join(e.dir, "client", "jump-"+cipherName(c)+".conf")
		cfg := strings.Join([]string{
			"Host " + jumpHost,
			"  HostName 127.0.0.1",
			fmt.Sprintf("  Port %d", srv.port),
			"  User root",
			"  Ciphers " + c,
			"  Compression no",
			"  BatchMode yes",
			"  IdentitiesOnly yes",
			"  IdentityFile " + e.clientKey,
			"  CertificateFile " + e.directCert,
			"  UserKnownHostsFile " + known,
			"  StrictHostKeyChecking yes",
			"  UpdateHostKeys no",
			"  ConnectTimeout 20",
			"  LogLevel ERROR",
		}, "\n") + "\n"
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			return err
		}
		e.jumpConfigs[c] = path
	}
	return nil
}
