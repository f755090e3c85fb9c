package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/devhost"
)

// Development identity and demo host defaults.
const (
	devIdentity = "developer@bastion.dev"
	devGroup    = "dev"
	devLogin    = "demo"
	devTarget   = "demo"
	devCertTTL  = 8 * time.Hour
)

const devPolicy = `# Development policy written by 'bastion dev'. Edit it while the bastion
# runs: it is reloaded within seconds, and a broken edit is rejected.
access:
  - name: developers-to-demo
    groups: [dev]
    targets: [demo]
    logins: [demo]
env_allow: [LANG, LC_*]
`

func cmdDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dev", "dev [--data DIR] [--listen ADDR]", stdout)
	dir := fs.String("data", devDataDir, "data directory (created if missing)")
	listen := fs.String("listen", "127.0.0.1:2222", "front SSH address")
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	env, err := setUpDev(abs, *listen)
	if err != nil {
		return err
	}
	defer env.host.Close()
	log := newLogger(stderr, false)
	st, err := newStack(env.cfg, log)
	if err != nil {
		return err
	}
	port := st.ln.Addr().(*net.TCPAddr).Port
	if err := env.writeClientFiles(st.ln.Addr().String(), port); err != nil {
		return err
	}
	rel := relPath(abs)
	fmt.Fprintf(stdout, `bastion dev is running (Ctrl-C stops it).

  bastion      %s
  demo target  %s (a real shell in a pty)
  identity     %s, groups [%s], certificate valid %s
  data         %s

Try:
  ssh -F %s/ssh_config demo                   # interactive shell, recorded
  ssh -F %s/ssh_config demo 'echo ok'         # one command
  sftp -F %s/ssh_config demo
  bastion sessions list                        # what was recorded
  bastion replay --cat SESSION_ID              # print a recording

`, st.ln.Addr(), env.host.Addr(), devIdentity, devGroup, devCertTTL, rel, rel, rel, rel)
	return st.run(ctx)
}

type devEnv struct {
	dir  string
	cfg  *config.Config
	host *devhost.Host
}

// setUpDev creates (once) the keys, policy and client key, starts the demo
// host and writes the config that points at it.
func setUpDev(dir, listen string) (*devEnv, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key := func(name string) (ssh.Signer, error) { return certauth.LoadOrCreateKey(filepath.Join(dir, name)) }
	for _, name := range []string{"host_key", "user_ca", "target_ca", "signing_key"} {
		if _, err := key(name); err != nil {
			return nil, err
		}
	}
	targetCA, err := key("target_ca")
	if err != nil {
		return nil, err
	}
	demoKey, err := key("demo_host_key")
	if err != nil {
		return nil, err
	}
	policyFile := filepath.Join(dir, "policy.yaml")
	if _, err := os.Stat(policyFile); os.IsNotExist(err) {
		if err := os.WriteFile(policyFile, []byte(devPolicy), 0o600); err != nil {
			return nil, err
		}
	}
	workDir := filepath.Join(dir, "demo-home")
	if err := os.MkdirAll(workDir, 0o700); err != nil {
		return nil, err
	}
	host, err := devhost.Start("127.0.0.1:0", devhost.Config{
		HostKey: demoKey, TargetCA: targetCA.PublicKey(), Login: devLogin, Dir: workDir,
	})
	if err != nil {
		return nil, err
	}
	cfgText := fmt.Sprintf(`# Written by 'bastion dev' on each start; see config.example.yaml.
listen: %q
data_dir: .
host_key: host_key
user_ca_key: user_ca
target_ca_key: target_ca
signing_key: signing_key
policy: policy.yaml
targets:
  - name: %s
    address: %q
    host_key: %q
    login: %s
`, listen, devTarget, host.Addr(), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(demoKey.PublicKey()))), devLogin)
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfgText), 0o600); err != nil {
		host.Close()
		return nil, err
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
		host.Close()
		return nil, err
	}
	return &devEnv{dir: dir, cfg: cfg, host: host}, nil
}

// writeClientFiles issues the development certificate and writes the
// ssh_config and known_hosts that make stock OpenSSH work with no flags.
func (e *devEnv) writeClientFiles(addr string, port int) error {
	clientKey, err := certauth.LoadOrCreateKey(filepath.Join(e.dir, "id_ed25519"))
	if err != nil {
		return err
	}
	userCA, err := certauth.LoadKey(e.cfg.UserCAKey)
	if err != nil {
		return err
	}
	cert, err := (&certauth.Authority{Signer: userCA}).SignUser(certauth.UserRequest{
		PublicKey: clientKey.PublicKey(), Identity: devIdentity, Groups: []string{devGroup}, TTL: devCertTTL,
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(e.dir, "id_ed25519-cert.pub"), ssh.MarshalAuthorizedKey(cert), 0o600); err != nil {
		return err
	}
	hostKey, err := certauth.LoadKey(e.cfg.HostKey)
	if err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(addr)
	known := fmt.Sprintf("[%s]:%d %s", host, port, ssh.MarshalAuthorizedKey(hostKey.PublicKey()))
	if err := os.WriteFile(filepath.Join(e.dir, "known_hosts"), []byte(known), 0o600); err != nil {
		return err
	}
	sshConfig := fmt.Sprintf(`# Written by 'bastion dev'. Use: ssh -F %[1]s/ssh_config demo
Host bastion %[2]s
  HostName %[3]s
  Port %[4]d
  IdentityFile %[1]s/id_ed25519
  CertificateFile %[1]s/id_ed25519-cert.pub
  IdentitiesOnly yes
  UserKnownHostsFile %[1]s/known_hosts
  StrictHostKeyChecking yes
Host %[2]s
  User %[5]s@%[2]s
`, e.dir, devTarget, host, port, devLogin)
	return os.WriteFile(filepath.Join(e.dir, "ssh_config"), []byte(sshConfig), 0o600)
}

func relPath(abs string) string {
	wd, err := os.Getwd()
	if err != nil {
		return abs
	}
	if rel, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return abs
}
