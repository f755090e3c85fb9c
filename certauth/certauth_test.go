package certauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var addr = &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 5000}

func TestSignAndCheck(t *testing.T) {
	ca := &Authority{Signer: newSigner(t)}
	user := newSigner(t)
	cert, err := ca.SignUser(UserRequest{PublicKey: user.PublicKey(), Identity: "alice@example.com", Groups: []string{"ops", "dba"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(cert.ValidBefore-cert.ValidAfter) * time.Second; got != DefaultUserTTL+clockSkew {
		t.Errorf("validity = %s", got)
	}
	if cert.ValidPrincipals[0] != "alice" || !strings.HasPrefix(cert.KeyId, "alice@example.com serial=") {
		t.Errorf("principals %v key id %q", cert.ValidPrincipals, cert.KeyId)
	}
	c := &Checker{Authorities: []ssh.PublicKey{newSigner(t).PublicKey(), ca.Signer.PublicKey()}}
	id, err := c.Check(cert, addr)
	if err != nil {
		t.Fatal(err)
	}
	if id.Name != "alice@example.com" || strings.Join(id.Groups, ",") != "ops,dba" || id.Serial != cert.Serial {
		t.Errorf("identity = %+v", id)
	}
}

func TestCheckRejects(t *testing.T) {
	ca := &Authority{Signer: newSigner(t)}
	checker := func() *Checker { return &Checker{Authorities: []ssh.PublicKey{ca.Signer.PublicKey()}} }
	sign := func(r UserRequest, a *Authority) *ssh.Certificate {
		r.PublicKey = newSigner(t).PublicKey()
		if r.Identity == "" {
			r.Identity = "alice@example.com"
		}
		c, err := a.SignUser(r)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	good := sign(UserRequest{}, ca)
	tampered := *good
	tampered.ValidPrincipals = []string{"root"}
	noPrincipals := sign(UserRequest{}, ca)
	noPrincipals.ValidPrincipals = nil
	hostCert := sign(UserRequest{}, ca)
	hostCert.CertType = ssh.HostCert

	cases := []struct {
		name    string
		key     ssh.PublicKey
		checker func(*Checker)
		want    error
	}{
		{"plain-key", newSigner(t).PublicKey(), nil, ErrNotCertificate},
		{"unknown-ca", sign(UserRequest{}, &Authority{Signer: newSigner(t)}), nil, ErrUnknownCA},
		{"expired", good, func(c *Checker) { c.Clock = func() time.Time { return time.Now().Add(time.Hour) } }, ErrExpired},
		{"not-yet-valid", good, func(c *Checker) { c.Clock = func() time.Time { return time.Now().Add(-time.Hour) } }, ErrNotYetValid},
		{"no-principals", noPrincipals, nil, ErrNoPrincipals},
		{"host-cert", hostCert, nil, ErrNotUserCert},
		{"source-address", sign(UserRequest{SourceAddress: "10.0.0.0/8,192.0.2.99"}, ca), nil, ErrSourceAddress},
		{"tampered", &tampered, nil, ErrBadSignature},
		{"revoked", good, func(c *Checker) { c.IsRevoked = func(*ssh.Certificate) bool { return true } }, ErrRevoked},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := checker()
			if c.checker != nil {
				c.checker(ch)
			}
			_, err := ch.Check(c.key, addr)
			if !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}
	// The same source-address list admits an address inside it.
	if _, err := checker().Check(sign(UserRequest{SourceAddress: "10.0.0.0/8,192.0.2.0/24"}, ca), addr); err != nil {
		t.Errorf("source-address inside the range: %v", err)
	}
}

func TestSignUserRejects(t *testing.T) {
	ca := &Authority{Signer: newSigner(t)}
	k := newSigner(t).PublicKey()
	cases := map[string]UserRequest{
		"no-key":          {Identity: "a@b"},
		"no-identity":     {PublicKey: k},
		"space":           {PublicKey: k, Identity: "a b@c"},
		"newline":         {PublicKey: k, Identity: "a\n@c"},
		"ttl-too-long":    {PublicKey: k, Identity: "a@b", TTL: 48 * time.Hour},
		"negative-ttl":    {PublicKey: k, Identity: "a@b", TTL: -time.Minute},
		"bad-source":      {PublicKey: k, Identity: "a@b", SourceAddress: "not-an-ip"},
		"cert-as-subject": {PublicKey: mustCert(t, ca), Identity: "a@b"},
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ca.SignUser(r); !errors.Is(err, ErrBadRequest) {
				t.Errorf("err = %v, want ErrBadRequest", err)
			}
		})
	}
}

func mustCert(t *testing.T, ca *Authority) *ssh.Certificate {
	c, err := ca.SignUser(UserRequest{PublicKey: newSigner(t).PublicKey(), Identity: "x@y"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ssh-keygen -L, the reference reader, shows what we put in.
func TestCertificateReadableBySSHKeygen(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	ca := &Authority{Signer: newSigner(t)}
	cert, err := ca.SignUser(UserRequest{PublicKey: newSigner(t).PublicKey(), Identity: "alice@example.com",
		Groups: []string{"ops"}, SourceAddress: "127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	up, err := ca.SignUpstream(UpstreamRequest{PublicKey: newSigner(t).PublicKey(), Login: "postgres",
		Identity: "alice@example.com", SessionID: "abc123"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, c := range map[string]*ssh.Certificate{"user": cert, "upstream": up} {
		path := filepath.Join(dir, name+"-cert.pub")
		if err := os.WriteFile(path, ssh.MarshalAuthorizedKey(c), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("ssh-keygen", "-L", "-f", path).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen -L: %v\n%s", err, out)
		}
		text := string(out)
		want := map[string][]string{
			"user": {"user certificate", `Key ID: "alice@example.com serial=`, "alice\n", "source-address 127.0.0.1/32",
				"permit-pty", "identity@bastion", "groups@bastion"},
			"upstream": {`Key ID: "bastion identity=alice@example.com session=abc123"`, "postgres\n"},
		}[name]
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: ssh-keygen -L lacks %q:\n%s", name, w, text)
			}
		}
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "ca")
	a, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v", st.Mode(), err)
	}
	b, err := LoadOrCreateKey(path)
	if err != nil || string(a.PublicKey().Marshal()) != string(b.PublicKey().Marshal()) {
		t.Fatal("second load did not return the same key")
	}
	if _, err := LoadKey(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("LoadKey must not create keys")
	}
	if _, err := LoadEd25519(path); err != nil {
		t.Error(err)
	}
}

func BenchmarkSignUser(b *testing.B) {
	ca := &Authority{Signer: newSigner(b)}
	k := newSigner(b).PublicKey()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ca.SignUser(UserRequest{PublicKey: k, Identity: "alice@example.com", Groups: []string{"ops"}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	ca := &Authority{Signer: newSigner(b)}
	cert, _ := ca.SignUser(UserRequest{PublicKey: newSigner(b).PublicKey(), Identity: "alice@example.com"})
	c := &Checker{Authorities: []ssh.PublicKey{ca.Signer.PublicKey()}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Check(cert, addr); err != nil {
			b.Fatal(err)
		}
	}
}

// A revocation of an identity covers certificates issued before it, read
// from the issue time the certificate carries, not from the back-dated
// ValidAfter.
func TestIssuedAt(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ca := &Authority{Signer: newSigner(t), Clock: func() time.Time { return at }}
	cert, err := ca.SignUser(UserRequest{PublicKey: newSigner(t).PublicKey(), Identity: "a@b"})
	if err != nil {
		t.Fatal(err)
	}
	if got := IssuedAt(cert); !got.Equal(at) {
		t.Errorf("IssuedAt = %s, want %s", got, at)
	}
	delete(cert.Extensions, ExtIssuedAt)
	if got := IssuedAt(cert); !got.Equal(at.Add(-clockSkew)) {
		t.Errorf("without the extension IssuedAt = %s, want ValidAfter", got)
	}
}
