package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/certauth/devoidc"
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
` + devCommands

func cmdDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dev", "dev [--data DIR] [--listen ADDR] [--http ADDR]", stdout)
	dir := fs.String("data", devDataDir, "data directory (created if missing)")
	listen := fs.String("listen", "127.0.0.1:2222", "front SSH address")
	httpAddr := fs.String("http", devHTTPListen, "certificate API address (HTTPS; another port if this one is taken)")
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	httpExplicit := false
	fs.Visit(func(f *flag.Flag) { httpExplicit = httpExplicit || f.Name == "http" })
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return err
	}
	slack, err := startDevSlack(abs, stdout)
	if err != nil {
		return err
	}
	defer slack.Close()
	env, err := setUpDev(abs, *listen, devHTTPAddr(*httpAddr, httpExplicit), devSlackConfig(slack))
	if err != nil {
		return err
	}
	defer env.host.Close()
	defer env.issuer.Close()
	log := newLogger(stderr, false)
	prev := slog.Default()
	slog.SetDefault(libraryLogger(stderr))
	defer slog.SetDefault(prev)
	st, err := newStack(ctx, env.cfg, log)
	if err != nil {
		return err
	}
	// The stack serves while the development certificate is obtained
	// through its certificate API.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- st.run(runCtx) }()
	port := st.ln.Addr().(*net.TCPAddr).Port
	if err := env.devCertificate(ctx, st.api.URL()); err != nil {
		stop()
		return errors.Join(err, <-served)
	}
	if err := env.writeClientFiles(st.ln.Addr().String(), port); err != nil {
		stop()
		return errors.Join(err, <-served)
	}
	if err := env.reviewerCertificate(ctx, st.api.URL(), st.ln.Addr().String(), port); err != nil {
		stop()
		return errors.Join(err, <-served)
	}
	rel := relPath(abs)
	fmt.Fprintf(stdout, `bastion dev is running (Ctrl-C stops it).

  bastion      %s
  demo target  %s (a real shell in a pty)
  demo shell   %s
  identity     %s, groups [%s], certificate valid %s
  reviewer     %s, groups [%s] (%s/%s/ssh_config)
  slack        a local stand-in prints what would be posted to Slack
  login API    %s (OIDC issuer %s, development only)
  metrics      http://%s/metrics (and /debug/pprof/)
  data         %s

Try:
  ssh -F %[14]s/ssh_config demo                   # interactive shell, recorded
  ssh -F %[14]s/ssh_config demo 'echo ok'         # one command
  sftp -F %[14]s/ssh_config demo
  ssh -F %[14]s/ssh_config bastion                # no target: lists where you may go
  %[15]s sessions list%[16]s                        # what was recorded
  %[15]s replay%[16]s --cat SESSION_ID              # print a recording (an ID prefix will do)
  %[15]s replay%[16]s --web SESSION_ID              # play it in a browser
  ssh -F %[14]s/ssh_config demo 'rm notes.txt'    # denied before it reaches the host (exit 252)
  ssh -F %[14]s/ssh_config demo 'touch reviewed'  # held: prints request=ID, waits for a reviewer
  %[15]s approvals list --ssh-config %[14]s/%[10]s/ssh_config
  %[15]s approve ID --reason ok --ssh-config %[14]s/%[10]s/ssh_config   # as the reviewer: the command runs
  (set -a; . %[14]s/login.env; %[15]s login --dir /tmp/bastion-login)  # OIDC device login

`, st.ln.Addr(), env.host.Addr(), env.shellNote, devIdentity, devGroup, devCertTTL, devReviewer, devReviewerGroup, rel, devReviewerDir,
		st.api.URL(), env.issuer.Issuer, st.diag.ln.Addr(), rel, selfCommand(), dataArg(abs))
	return <-served
}

// libraryLogger is slog's default logger under `bastion dev`. The
// development issuer (zitadel's op) logs through it, at Info for every
// device-flow poll that is still pending (one line every few seconds
// while a person reads the code): keep its warnings and errors only.
func libraryLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type devEnv struct {
	dir    string
	cfg    *config.Config
	host   *devhost.Host
	issuer *devoidc.Server // the development OIDC provider
	secret string          // its service client's secret
	// shellNote says which account demo sessions run as, for the banner.
	shellNote string
}

// demoAccount picks who demo sessions run as. As root: the unprivileged
// bastion-demo system user (created if missing), whose home is outside
// the data directory, so a demo shell can neither read the CA keys nor
// edit the database. Otherwise there is no other account to switch to:
// sessions run as the caller, in a home outside the data directory, and
// the banner says what that means.
func demoAccount(cfg *devhost.Config) (note string, err error) {
	if os.Geteuid() == 0 {
		a, err := devhost.EnsureAccount(devhost.DemoUser, devhost.DemoHome)
		if err != nil {
			return "", err
		}
		cfg.Account = a
		return fmt.Sprintf("runs as %s (home %s); it cannot read the data directory", a.Name, a.Home), nil
	}
	cfg.Dir = filepath.Join(os.TempDir(), fmt.Sprintf("bastion-demo-%d", os.Getuid()))
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return "", err
	}
	return fmt.Sprintf("runs as you (home %s): not root, so no separate demo user; it can read the data directory", cfg.Dir), nil
}

// setUpDev creates (once) the keys, policy and client key, starts the demo
// host and writes the config that points at it.
func setUpDev(dir, listen, httpListen, slackConfig string) (*devEnv, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// The data directory holds the CA keys and the evidence: only the
	// bastion's own user may enter it, whatever mode it was made with.
	if err := os.Chmod(dir, 0o700); err != nil {
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
	if _, _, err := devTLS(dir); err != nil {
		return nil, err
	}
	hostCfg := devhost.Config{HostKey: demoKey, TargetCA: targetCA.PublicKey(), Login: devLogin}
	shellNote, err := demoAccount(&hostCfg)
	if err != nil {
		return nil, err
	}
	host, err := devhost.Start("127.0.0.1:0", hostCfg)
	if err != nil {
		return nil, err
	}
	issuer, secret, err := startDevIssuer()
	if err != nil {
		host.Close()
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
http:
  listen: %q
  tls_cert: %s
  tls_key: %s
issuers:
  - url: %q
    audience: %s
    max_ttl: %s
diagnostics:
  listen: 127.0.0.1:0
  pprof: true
%s`, listen, devTarget, host.Addr(), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(demoKey.PublicKey()))), devLogin,
		httpListen, devTLSCert, devTLSKey, issuer.Issuer, devAudience, devCertTTL, slackConfig)
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfgText), 0o600); err != nil {
		host.Close()
		issuer.Close()
		return nil, err
	}
	cfg, err := config.Load(cfgFile)
	if err == nil {
		err = cfg.CheckSecretFiles()
	}
	if err != nil {
		host.Close()
		issuer.Close()
		return nil, err
	}
	return &devEnv{dir: dir, cfg: cfg, host: host, issuer: issuer, secret: secret, shellNote: shellNote}, nil
}

// writeClientFiles writes the ssh_config and known_hosts that make stock
// OpenSSH work with no flags (the certificate comes from devCertificate).
func (e *devEnv) writeClientFiles(addr string, port int) error {
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

// dataArg is what the printed commands need to find the data directory:
// nothing when it is ./.bastion-dev (they look there), else --data DIR.
func dataArg(abs string) string {
	if wd, err := os.Getwd(); err == nil && abs == filepath.Join(wd, devDataDir) {
		return ""
	}
	return " --data " + relPath(abs)
}

// selfCommand is how to run this binary as the banner prints it: plain
// "bastion" when that is what the PATH finds, else its path (bin/bastion
// after make demo), so the commands shown work when pasted.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "bastion"
	}
	if onPath, err := exec.LookPath("bastion"); err == nil {
		a, errA := os.Stat(onPath)
		b, errB := os.Stat(exe)
		if errA == nil && errB == nil && os.SameFile(a, b) {
			return "bastion"
		}
	}
	return relPath(exe)
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
