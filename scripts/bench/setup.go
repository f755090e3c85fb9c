package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/certauth/devoidc"
)

const (
	sshdPath   = "/usr/sbin/sshd"
	modulePath = "github.com/bastion-ssh/bastion"
	identity   = "bench@example.com"
)

const benchPolicy = `access:
  - name: bench-ops
    groups: [ops]
    targets: ["*"]
    logins: [root]
`

// side is one of the paths from the client to the target.
type side int

const (
	direct     side = iota
	viaBastion      // the bastion, recording and masking
	viaJump         // a stock sshd as jump host (`ssh -J`): the anchor for transfers
)

// sides are the paths every scenario compares; transfers add viaJump.
var sides = []side{direct, viaBastion}

var transferSides = []side{direct, viaJump, viaBastion}

func (s side) String() string {
	switch s {
	case viaBastion:
		return "bastion"
	case viaJump:
		return "jump"
	}
	return "direct"
}

// env is the machinery of one run: the target, the bastion, the client's
// credentials and the files the scenarios use.
type env struct {
	opt   options
	procs *procSet

	root string // module root
	dir  string // work directory
	bin  string // the bastion binary

	sshd    *server
	bastion *server
	jump    *server // the OpenSSH jump host
	dataDir string  // the bastion's data directory
	logFile *os.File

	provider *devoidc.Server // the OpenID provider the certificate API trusts
	apiURL   string          // https://127.0.0.1:PORT of the certificate API
	diagURL  string          // http://127.0.0.1:PORT of the diagnostics listener, if on
	apiRoots *x509.CertPool  // trusts the API's self-signed certificate

	clientKey   string
	bastionCert string            // from the bastion's user CA: identity, group ops
	directCert  string            // from the target CA: principal root
	jumpConfigs map[string]string // cipher → ssh -F file naming the jump host

	textFile string // base64 text for the text download
	scpSrc   string // the file scp uploads
	scpDir   string // where scp uploads go

	closeOnce sync.Once
}

func (e *env) setup(ctx context.Context) error {
	var err error
	if e.root, err = moduleRoot(); err != nil {
		return err
	}
	if e.dir, err = os.MkdirTemp("", "bastion-bench-"); err != nil {
		return err
	}
	e.bin = filepath.Join(e.dir, "bastion")
	build := command(ctx, goTool(), "build", "-o", e.bin, "./cmd/bastion")
	build.Dir = e.root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/bastion: %v\n%s", err, out)
	}
	bdir := filepath.Join(e.dir, "bastion-conf")
	keys := map[string]ssh.Signer{}
	for _, name := range []string{"host_key", "user_ca", "target_ca", "signing_key"} {
		if keys[name], err = certauth.LoadOrCreateKey(filepath.Join(bdir, name)); err != nil {
			return err
		}
	}
	if err := e.startSSHD(ctx, keys["target_ca"].PublicKey()); err != nil {
		return fmt.Errorf("sshd: %w", err)
	}
	if err := e.startProvider(); err != nil {
		return fmt.Errorf("openid provider: %w", err)
	}
	if err := e.startBastion(ctx, bdir, keys["host_key"].PublicKey()); err != nil {
		return fmt.Errorf("bastion: %w", err)
	}
	if err := e.clientCredentials(keys["user_ca"], keys["target_ca"]); err != nil {
		return err
	}
	if err := e.startJump(ctx, keys["target_ca"].PublicKey()); err != nil {
		return fmt.Errorf("jump host: %w", err)
	}
	return e.dataFiles()
}

// moduleRoot finds this module's directory from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module "+modulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the " + modulePath + " module")
		}
		dir = parent
	}
}

// goTool is the go command: from PATH, or the toolchain that built us.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	for _, p := range []string{os.Getenv("GOROOT") + "/bin/go", "/usr/local/go/bin/go"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

// close ends everything the run started: clients first, then the bastion
// (gracefully, so it closes its recordings), then the jump host and the
// target sshd with whatever per-connection processes they still have,
// then the OpenID provider.
func (e *env) close() {
	e.closeOnce.Do(func() {
		e.procs.killAll()
		if b := e.bastion; b != nil {
			_ = b.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-b.done:
			case <-time.After(15 * time.Second):
				_ = b.cmd.Process.Kill()
				<-b.done
			}
		}
		for _, s := range []*server{e.jump, e.sshd} {
			if s != nil {
				stopSSHD(s)
			}
		}
		if e.provider != nil {
			_ = e.provider.Close()
		}
		if e.logFile != nil {
			e.logFile.Close()
		}
		if e.dir != "" {
			if e.opt.keepWorkDir {
				logf(e.opt.log, "kept %s", e.dir)
			} else {
				os.RemoveAll(e.dir)
			}
		}
	})
}

// stopSSHD ends an sshd listener and the per-connection processes it
// still has.
func stopSSHD(s *server) {
	left := descendants(s.pid)
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	for _, p := range left {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}
