package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
)

// BenchmarkProxyUploadOpenSSH is BenchmarkProxyUpload with the stock
// OpenSSH client, which sends what it reads from a pipe in packets of 16
// KiB at its own pace: the client's leg as `make bench` drives it, with
// the bastion in this process, so that a profile holds the bastion's CPU
// apart (go tool pprof -tagfocus side=bastion). BENCH_CIPHER pins the
// client's cipher (default aes128-gcm@openssh.com).
func BenchmarkProxyUploadOpenSSH(b *testing.B) {
	const size = 128 << 20
	if _, err := exec.LookPath("ssh"); err != nil {
		b.Skip("no ssh client")
	}
	tb := startTestBastion(b, nil)
	dir := b.TempDir()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		b.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		b.Fatal(err)
	}
	cert, err := tb.userCA.SignUser(certauth.UserRequest{PublicKey: pub, Identity: "alice@example.com", Groups: []string{"ops"}})
	if err != nil {
		b.Fatal(err)
	}
	host, port, err := net.SplitHostPort(tb.addr)
	if err != nil {
		b.Fatal(err)
	}
	keyPath, knownHosts, data := filepath.Join(dir, "id"), filepath.Join(dir, "known_hosts"), filepath.Join(dir, "data")
	for path, content := range map[string][]byte{
		keyPath:           pem.EncodeToMemory(block),
		keyPath + "-cert": ssh.MarshalAuthorizedKey(cert),
		knownHosts:        fmt.Appendf(nil, "[%s]:%s %s", host, port, ssh.MarshalAuthorizedKey(tb.hostKey)),
		data:              make([]byte, size),
	} {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	cipher := os.Getenv("BENCH_CIPHER")
	if cipher == "" {
		cipher = "aes128-gcm@openssh.com"
	}
	b.SetBytes(size)
	for b.Loop() {
		in, err := os.Open(data)
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command("ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
			"-o", "IdentityFile="+keyPath, "-o", "CertificateFile="+keyPath+"-cert",
			"-o", "UserKnownHostsFile="+knownHosts, "-o", "StrictHostKeyChecking=yes",
			"-c", cipher, "-p", port, "demo@demo@"+host, "cat > /dev/null")
		cmd.Stdin = in
		out, err := cmd.CombinedOutput()
		in.Close()
		if err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}
