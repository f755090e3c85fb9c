package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// startBastion runs `bastion serve --config` in front of the target, with
// its certificate API on HTTPS trusting the harness's OpenID provider.
func (e *env) startBastion(ctx context.Context, dir string, hostKey ssh.PublicKey) error {
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(benchPolicy), 0o600); err != nil {
		return err
	}
	pub, err := os.ReadFile(filepath.Join(e.dir, "sshd", "host_key.pub"))
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	apiPort, err := freePort()
	if err != nil {
		return err
	}
	if e.apiRoots, err = writeTLSCert(dir); err != nil {
		return err
	}
	e.apiURL = fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	e.dataDir = filepath.Join(dir, "data")
	cfg := baseConfig(port, e.sshd.port, pub) + e.apiConfig(apiPort)
	if e.opt.profile {
		diagPort, err := freePort()
		if err != nil {
			return err
		}
		e.diagURL = fmt.Sprintf("http://127.0.0.1:%d", diagPort)
		cfg += diagConfig(diagPort)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	if e.logFile, err = os.Create(filepath.Join(e.dir, "bastion.log")); err != nil {
		return err
	}
	cmd := exec.Command(e.bin, "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = e.logFile, e.logFile
	if e.bastion, err = e.startServer(ctx, cmd, port); err != nil {
		b, _ := os.ReadFile(e.logFile.Name())
		return fmt.Errorf("%w\n%s", err, b)
	}
	if err := waitListening(ctx, e.bastion, apiPort); err != nil {
		b, _ := os.ReadFile(e.logFile.Name())
		return fmt.Errorf("certificate API: %w\n%s", err, b)
	}
	return writeKnownHosts(filepath.Join(e.dir, "known_hosts.bastion"), port, hostKey)
}

// baseConfig is what every bastion of the harness is configured with: its
// listener, its keys and policy (files beside the config), and the target.
// The harness opens hundreds of connections from 127.0.0.1, so the limit
// on connections per source address is off.
func baseConfig(port, targetPort int, targetHostKey []byte) string {
	return fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: data
host_key: host_key
user_ca_key: user_ca
target_ca_key: target_ca
signing_key: signing_key
policy: policy.yaml
limits:
  dial_timeout: 10s
  max_conns_per_source: -1
targets:
  - name: target
    address: "127.0.0.1:%d"
    host_key: %q
    login: root
`, port, targetPort, strings.TrimSpace(string(targetHostKey)))
}
