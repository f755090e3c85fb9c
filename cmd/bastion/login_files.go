package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/bastion-ssh/bastion/certauth"
)

// Files `bastion login` keeps in its directory (~/.ssh/bastion).
const (
	loginKeyFile    = "id_ed25519"
	loginCertFile   = "id_ed25519-cert.pub"
	loginSSHConfig  = "ssh_config"
	loginKnownHosts = "known_hosts"
)

// defaultLoginDir is ~/.ssh/bastion.
func defaultLoginDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".ssh", "bastion")
	}
	return filepath.Join(home, ".ssh", "bastion")
}

// loginKey loads the key in dir, creating an ed25519 key on first use.
// Every file login writes is private to the user (0600, directory 0700).
func loginKey(dir string) (ssh.Signer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, loginKeyFile)
	s, err := certauth.LoadOrCreateKey(path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path+".pub", 0o600); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	return s, nil
}

// writePrivate replaces path atomically with a 0600 file.
func writePrivate(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// knownHostsLine formats a host key as OpenSSH looks it up for addr.
func knownHostsLine(addr string, key ssh.PublicKey) string {
	host, port, err := net.SplitHostPort(addr)
	name := addr
	if err == nil {
		name = "[" + host + "]:" + port
		if port == "22" {
			name = host
		}
	}
	return name + " " + string(ssh.MarshalAuthorizedKey(key))
}

// writeClientConfig writes known_hosts with the bastion's host keys and an
// ssh_config block for Host alias.
// Each target in targets with a login to use gets its own Host block, so
// that `ssh TARGET` works as it does with `bastion dev`'s config.
func writeClientConfig(dir, alias, sshAddr string, hostKeys []ssh.PublicKey, targets []certauth.Target) (string, error) {
	var kh bytes.Buffer
	for _, k := range hostKeys {
		kh.WriteString(knownHostsLine(sshAddr, k))
	}
	if err := writePrivate(filepath.Join(dir, loginKnownHosts), kh.Bytes()); err != nil {
		return "", err
	}
	host, port, err := net.SplitHostPort(sshAddr)
	if err != nil {
		return "", fmt.Errorf("ssh address %q: %w", sshAddr, err)
	}
	path := filepath.Join(dir, loginSSHConfig)
	cfg := fmt.Sprintf(`# Written by 'bastion login'; rewritten at each login.
# Use:  ssh -F %[6]s LOGIN@TARGET@%[1]s
# or add this line near the top of ~/.ssh/config:  Include %[6]s
Host %[1]s
  HostName %[2]s
  Port %[3]s
  IdentityFile %[4]s
  CertificateFile %[5]s
  IdentitiesOnly yes
  UserKnownHostsFile %[7]s
  StrictHostKeyChecking yes
`, alias, host, port, filepath.Join(dir, loginKeyFile), filepath.Join(dir, loginCertFile), path, filepath.Join(dir, loginKnownHosts))
	var b strings.Builder
	b.WriteString(cfg)
	for _, t := range targets {
		login := hostLogin(t)
		if login == "" || t.Name == alias {
			continue
		}
		fmt.Fprintf(&b, "Host %[1]s\n  HostName %[2]s\n  Port %[3]s\n  User %[4]s@%[1]s\n  IdentityFile %[5]s\n  CertificateFile %[6]s\n  IdentitiesOnly yes\n  UserKnownHostsFile %[7]s\n  StrictHostKeyChecking yes\n",
			t.Name, host, port, login, filepath.Join(dir, loginKeyFile), filepath.Join(dir, loginCertFile), filepath.Join(dir, loginKnownHosts))
	}
	return path, writePrivate(path, []byte(b.String()))
}

// addToAgent loads the key and certificate into the ssh-agent at sock,
// to be dropped by the agent when the certificate expires.
func addToAgent(sock, keyPath string, cert *ssh.Certificate, comment string) error {
	data, err := os.ReadFile(keyPath)
	if err != nil {
		return err
	}
	raw, err := ssh.ParseRawPrivateKey(data)
	if err != nil {
		return fmt.Errorf("%s: %w", keyPath, err)
	}
	life := time.Until(time.Unix(int64(cert.ValidBefore), 0))
	if life <= 0 {
		return fmt.Errorf("certificate already expired")
	}
	conn, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return fmt.Errorf("ssh-agent: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	return agent.NewClient(conn).Add(agent.AddedKey{
		PrivateKey: raw, Certificate: cert, Comment: comment, LifetimeSecs: uint32(life.Seconds()),
	})
}

// certStatus describes the stored certificate.
type certStatus struct {
	Identity    string    `json:"identity"`
	Groups      []string  `json:"groups"`
	Principals  []string  `json:"principals"`
	Serial      string    `json:"serial"`
	ValidBefore time.Time `json:"valid_before"`
	Expired     bool      `json:"expired"`
	Key         string    `json:"key"`
	Certificate string    `json:"certificate"`
}

func readCertStatus(dir string) (*certStatus, *ssh.Certificate, error) {
	path := filepath.Join(dir, loginCertFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("no certificate (run bastion login): %w", err)
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	cert, ok := k.(*ssh.Certificate)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not a certificate", path)
	}
	st := &certStatus{
		Identity: certauth.CertIdentity(cert), Groups: []string{}, Principals: cert.ValidPrincipals,
		Serial:      strconv.FormatUint(cert.Serial, 10),
		ValidBefore: time.Unix(int64(cert.ValidBefore), 0).UTC(),
		Key:         filepath.Join(dir, loginKeyFile), Certificate: path,
	}
	if g := cert.Extensions[certauth.ExtGroups]; g != "" {
		st.Groups = strings.Split(g, ",")
	}
	st.Expired = !time.Now().Before(st.ValidBefore)
	return st, cert, nil
}
