package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bastion-ssh/bastion/certauth"
)

// Defaults of `bastion init`, matching the packaged systemd unit.
const (
	defaultConfigDir = "/etc/bastion"
	defaultDataDir   = "/var/lib/bastion"
	defaultOwner     = "bastion"
	initTLSLifetime  = 825 * 24 * time.Hour // the longest browsers accept for a server certificate
)

// The private keys `bastion init` creates, in the order it creates them.
var initKeys = []string{"host_key", "user_ca", "target_ca", "signing_key"}

func cmdInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("init", "init [--dir DIR] [--data DIR] [flags]", stdout)
	dir := fs.String("dir", defaultConfigDir, "configuration directory to create: keys, config.yaml, policy.yaml")
	data := fs.String("data", "", "data directory for the database and recordings (default "+defaultDataDir+" with the default --dir, else DIR/data)")
	listen := fs.String("listen", "0.0.0.0:2222", "front SSH address written to config.yaml")
	hostname := fs.String("hostname", "", "name clients use for the bastion, put in the TLS certificate and ssh_address (default: this host's name)")
	httpListen := fs.String("http-listen", "0.0.0.0:8443", "certificate API address written to config.yaml")
	issuer := fs.String("issuer", "", "OIDC issuer URL; turns the certificate API on (default: off, commented out)")
	audience := fs.String("audience", "bastion", "audience the issuer's tokens carry")
	tlsCert := fs.String("tls-cert", "", "your TLS certificate (PEM) for the API; default: a self-signed one is created")
	tlsKey := fs.String("tls-key", "", "the key of --tls-cert (PEM)")
	owner := fs.String("owner", defaultOwner, "when run as root: the user that runs 'serve' and owns what init writes, if it exists")
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() > 0 {
		return usagef("init: unexpected argument %q", fs.Arg(0))
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usagef("init: --tls-cert and --tls-key go together")
	}
	cfgDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	dataDir := *data
	if dataDir == "" {
		dataDir = filepath.Join(cfgDir, "data")
		if cfgDir == defaultConfigDir {
			dataDir = defaultDataDir
		}
	}
	if dataDir, err = filepath.Abs(dataDir); err != nil {
		return err
	}
	if *hostname == "" {
		if *hostname, err = os.Hostname(); err != nil {
			*hostname = "localhost"
		}
	}
	p := initPlan{dir: cfgDir, data: dataDir, tlsCert: *tlsCert, tlsKey: *tlsKey}
	if err := p.refuseOverwrite(); err != nil {
		return err
	}
	uid, gid, ownerNote, err := initOwner(*owner)
	if err != nil {
		return err
	}
	err = p.write(*hostname, initValues{
		Listen: *listen, DataDir: dataDir, HTTPListen: *httpListen, SSHAddress: sshAddress(*hostname, *listen),
		Issuer: *issuer, Audience: *audience,
	})
	if err == nil && uid >= 0 {
		err = p.chown(uid, gid)
	}
	cfgFile := filepath.Join(cfgDir, "config.yaml")
	if err == nil {
		if _, cerr := checkServe(cfgFile); cerr != nil {
			err = fmt.Errorf("init: what it wrote does not check out: %w", cerr)
		}
	}
	if err != nil {
		// Half an init is worse than none: a rerun would refuse to
		// overwrite the keys it left. Only this run's files go.
		p.undo()
		return err
	}
	caPub, err := os.ReadFile(filepath.Join(cfgDir, "target_ca.pub"))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `bastion init: wrote %s (keys 0600, %s) and %s

Each target's sshd trusts the target CA. On every target, put this line in
/etc/ssh/bastion_target_ca.pub:

  %s
and this line in /etc/ssh/sshd_config, then reload sshd:

  TrustedUserCAKeys /etc/ssh/bastion_target_ca.pub

Next: add targets to %s and access rules to %s,
then check and start:

  bastion serve --check --config %s
  %s
`, cfgDir, ownerNote, dataDir, strings.TrimSpace(string(caPub)),
		cfgFile, filepath.Join(cfgDir, "policy.yaml"), cfgFile, startCommand(cfgFile))
	return nil
}

// startCommand is how to start a bastion on cfgFile: the packaged unit
// reads /etc/bastion/config.yaml only.
func startCommand(cfgFile string) string {
	if cfgFile == filepath.Join(defaultConfigDir, "config.yaml") {
		return "systemctl enable --now bastion      # or: bastion serve --config " + cfgFile
	}
	return "bastion serve --config " + cfgFile
}

// initPlan is what `bastion init` creates.
type initPlan struct {
	dir, data       string
	tlsCert, tlsKey string   // the operator's pair; "" means self-signed
	created         []string // files this run created, removed if it fails
}

// files lists every file init creates in dir.
func (p *initPlan) files() []string {
	var out []string
	for _, k := range initKeys {
		out = append(out, k, k+".pub")
	}
	if p.tlsCert == "" {
		out = append(out, devTLSCert, devTLSKey)
	}
	return append(out, "config.yaml", "policy.yaml")
}

// refuseOverwrite fails, listing them, if any file init would write is
// already there: init never replaces a key a running bastion or its
// targets depend on.
func (p *initPlan) refuseOverwrite() error {
	var found []string
	for _, f := range p.files() {
		if _, err := os.Lstat(filepath.Join(p.dir, f)); err == nil {
			found = append(found, f)
		}
	}
	if _, err := os.Lstat(dbPath(p.data)); err == nil {
		found = append(found, dbPath(p.data))
	}
	if len(found) > 0 {
		return fmt.Errorf("init: %s already holds %s: refusing to overwrite (move them away, or choose another --dir)",
			p.dir, strings.Join(found, ", "))
	}
	return nil
}

func (p *initPlan) write(hostname string, v initValues) error {
	for _, d := range []string{p.dir, p.data} {
		if err := mkdirPrivate(d); err != nil {
			return err
		}
	}
	for _, k := range initKeys {
		path := filepath.Join(p.dir, k)
		if _, err := certauth.CreateKey(path); err != nil {
			return fmt.Errorf("init: %w", err)
		}
		p.created = append(p.created, path, path+".pub")
	}
	v.TLSCert, v.TLSKey = p.tlsCert, p.tlsKey
	if p.tlsCert == "" {
		pair, err := selfSignedTLS(hostname, []string{hostname}, initTLSLifetime)
		if err != nil {
			return err
		}
		v.TLSCert, v.TLSKey = filepath.Join(p.dir, devTLSCert), filepath.Join(p.dir, devTLSKey)
		if err := p.createFile(v.TLSKey, pair.key, 0o600); err != nil {
			return err
		}
		if err := p.createFile(v.TLSCert, pair.cert, 0o644); err != nil {
			return err
		}
	}
	cfg, err := render(initConfig, v)
	if err != nil {
		return err
	}
	if err := p.createFile(filepath.Join(p.dir, "config.yaml"), cfg, 0o600); err != nil {
		return err
	}
	return p.createFile(filepath.Join(p.dir, "policy.yaml"), []byte(initPolicy), 0o600)
}

// mkdirPrivate creates dir as 0700. An existing directory keeps its mode
// (it may be /etc/bastion made by the package), unless others can write
// to it: then anyone could swap a key or the policy.
func mkdirPrivate(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("init: %s is not a directory", dir)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("init: %s is writable by group or others (mode %04o): fix with chmod go-w %s", dir, st.Mode().Perm(), dir)
	}
	return nil
}

// createFile writes a new file; it never replaces one.
func (p *initPlan) createFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	p.created = append(p.created, path)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("init: %w", err)
	}
	return f.Close()
}

// undo removes the files this run created (never anything that was
// there before: each was created with O_EXCL).
func (p *initPlan) undo() {
	for i := len(p.created) - 1; i >= 0; i-- {
		os.Remove(p.created[i])
	}
}

// chown gives the config directory, what init wrote in it, and the data
// directory to the service user, so `serve` runs without root.
func (p *initPlan) chown(uid, gid int) error {
	paths := []string{p.dir, p.data}
	for _, f := range p.files() {
		paths = append(paths, filepath.Join(p.dir, f))
	}
	for _, path := range paths {
		if err := os.Lchown(path, uid, gid); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	return nil
}

// initOwner decides who owns what init writes: the service user when run
// as root and that user exists, else whoever runs init. uid -1 means no
// change. The note says which, for the summary.
func initOwner(name string) (uid, gid int, note string, err error) {
	if os.Geteuid() != 0 || name == "" {
		return -1, -1, "owned by you; run serve as this user", nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return -1, -1, fmt.Sprintf("owned by root: no user %q (the package creates it; or: useradd --system %s, then chown -R)", name, name), nil
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, "owned by " + name, nil
}

// sshAddress is the host:port clients dial: the hostname with the port of
// the listen address.
func sshAddress(hostname, listen string) string {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		port = "2222"
	}
	return net.JoinHostPort(hostname, port)
}
