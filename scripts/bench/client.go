package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
)

// clientCredentials makes the client key and its two certificates.
func (e *env) clientCredentials(userCA, targetCA ssh.Signer) error {
	e.clientKey = filepath.Join(e.dir, "client", "id_ed25519")
	key, err := certauth.LoadOrCreateKey(e.clientKey)
	if err != nil {
		return err
	}
	sign := func(ca ssh.Signer, r certauth.UserRequest, path string) error {
		r.PublicKey, r.Identity, r.TTL = key.PublicKey(), identity, 12*time.Hour
		cert, err := (&certauth.Authority{Signer: ca}).SignUser(r)
		if err != nil {
			return err
		}
		return os.WriteFile(path, ssh.MarshalAuthorizedKey(cert), 0o644)
	}
	e.bastionCert = filepath.Join(e.dir, "client", "bastion.cert")
	e.directCert = filepath.Join(e.dir, "client", "direct.cert")
	if err := sign(userCA, certauth.UserRequest{Groups: []string{"ops"}}, e.bastionCert); err != nil {
		return err
	}
	return sign(targetCA, certauth.UserRequest{Login: "root"}, e.directCert)
}

// sshOpts are the options every ssh and scp of a path gets. The jump
// path is the direct one with -J: its hop takes the same options from a
// configuration file.
func (e *env) sshOpts(s side, cipher string) []string {
	cert, kh, conf := e.directCert, filepath.Join(e.dir, "known_hosts.direct"), "/dev/null"
	var hop []string
	switch s {
	case viaBastion:
		cert, kh = e.bastionCert, filepath.Join(e.dir, "known_hosts.bastion")
	case viaJump:
		conf, hop = e.jumpConfigs[cipher], []string{"-J", jumpHost}
	}
	return append(hop,
		"-F", conf, "-c", cipher,
		"-o", "Compression=no", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
		"-o", "IdentityFile="+e.clientKey, "-o", "CertificateFile="+cert,
		"-o", "UserKnownHostsFile="+kh, "-o", "StrictHostKeyChecking=yes",
		"-o", "UpdateHostKeys=no", "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR",
	)
}

// port is where the client connects on a path.
func (e *env) port(s side) int {
	if s == viaBastion {
		return e.bastion.port
	}
	return e.sshd.port
}

// login is the user part of the destination: the bastion takes the target
// from it (LOGIN@TARGET@BASTION).
func login(s side) string {
	if s == viaBastion {
		return "root@target"
	}
	return "root"
}

// sshArgs is a complete ssh command line; extra goes before the
// destination (e.g. -tt), remote after it.
func (e *env) sshArgs(s side, cipher string, extra []string, remote string) []string {
	args := append(e.sshOpts(s, cipher), "-p", fmt.Sprint(e.port(s)))
	args = append(args, extra...)
	return append(args, login(s)+"@127.0.0.1", remote)
}

// scpArgs copies src to the target path dst.
func (e *env) scpArgs(s side, cipher, src, dst string) []string {
	args := append(e.sshOpts(s, cipher), "-q", "-P", fmt.Sprint(e.port(s)))
	return append(args, src, login(s)+"@127.0.0.1:"+dst)
}
