package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/devhost"
	"github.com/bastion-ssh/bastion/policies"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
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

// memStore is an in-memory Store for tests.
type memStore struct {
	mu       sync.Mutex
	sessions map[string]store.Session
	ends     map[string]store.SessionEnd
	events   []store.Event
}

var _ Store = (*memStore)(nil)

func (m *memStore) CreateSession(_ context.Context, s store.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[s.ID] = s
	return nil
}

func (m *memStore) EndSession(_ context.Context, id string, e store.SessionEnd) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ends[id] = e
	return nil
}

func (m *memStore) Audit(_ context.Context, e store.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
	return nil
}

func (m *memStore) eventsOf(typ string) []store.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Event
	for _, e := range m.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// testBastion is an in-process bastion in front of an in-process demo host.
type testBastion struct {
	addr    string
	store   *memStore
	userCA  *certauth.Authority
	hostKey ssh.PublicKey
	server  *Server
	revoked *atomic.Bool // what the checker's IsRevoked answers
}

// startTestBastion starts a server whose recordings come from recs (nil
// means real files in a temp directory).
func startTestBastion(t testing.TB, recs RecordingFactory) *testBastion {
	t.Helper()
	return startTestBastionWith(t, recs, "access:\n  - {name: ops, groups: [ops], targets: [demo], logins: [demo]}\n")
}

// startTestBastionWith is startTestBastion with its own policy document;
// each of configure may change the server's config before it starts.
func startTestBastionWith(t testing.TB, recs RecordingFactory, policy string, configure ...func(*Config)) *testBastion {
	t.Helper()
	targetCA := newSigner(t)
	demoKey := newSigner(t)
	// The goroutines of each side carry a profiler label, so that a
	// benchmark's profile tells the bastion's work from the demo host's
	// and the client's (go tool pprof -tagfocus side=bastion).
	var host *devhost.Host
	var err error
	pprof.Do(context.Background(), pprof.Labels("side", "target"), func(context.Context) {
		host, err = devhost.Start("127.0.0.1:0", devhost.Config{HostKey: demoKey, TargetCA: targetCA.PublicKey(), Login: "demo", Dir: t.TempDir()})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	if recs == nil {
		recs = FileRecordings(t.TempDir(), recorder.Options{CheckpointEvery: -1})
	}
	pol, err := policies.Parse([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	target := config.Target{Name: "demo", Address: host.Addr(), Login: "demo",
		HostKey: string(ssh.MarshalAuthorizedKey(demoKey.PublicKey())), Credential: config.Credential{Type: config.CredentialCertificate}}
	userCA := &certauth.Authority{Signer: newSigner(t)}
	hostKey := newSigner(t)
	revoked := &atomic.Bool{}
	st := &memStore{sessions: map[string]store.Session{}, ends: map[string]store.SessionEnd{}}
	cfg := Config{
		HostSigners: []ssh.Signer{hostKey},
		Checker: &certauth.Checker{Authorities: []ssh.PublicKey{userCA.Signer.PublicKey()},
			IsRevoked: func(*ssh.Certificate) bool { return revoked.Load() }},
		Policy: policies.Static(pol),
		Targets: func(name string) (config.Target, bool) {
			return target, name == target.Name
		},
		Upstream:       &Upstream{TargetCA: &certauth.Authority{Signer: targetCA}},
		Store:          st,
		Recordings:     recs,
		FingerprintKey: []byte("test fingerprint key, 32 bytes.."),
	}
	for _, c := range configure {
		c(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pprof.Do(context.Background(), pprof.Labels("side", "bastion"), func(context.Context) { go srv.Serve(ln) })
	t.Cleanup(func() { srv.Close() })
	return &testBastion{addr: ln.Addr().String(), store: st, userCA: userCA, hostKey: hostKey.PublicKey(), server: srv, revoked: revoked}
}

// dial connects as identity (groups ops) with user name user; each of
// configure may change the client's config (a cipher, say) before it dials.
func (b *testBastion) dial(t testing.TB, identity, user string, configure ...func(*ssh.ClientConfig)) *ssh.Client {
	t.Helper()
	key := newSigner(t)
	cert, err := b.userCA.SignUser(certauth.UserRequest{PublicKey: key.PublicKey(), Identity: identity, Groups: []string{"ops"}})
	if err != nil {
		t.Fatal(err)
	}
	certSigner, err := ssh.NewCertSigner(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(certSigner)},
		HostKeyCallback: ssh.FixedHostKey(b.hostKey),
	}
	for _, c := range configure {
		c(cfg)
	}
	c, err := ssh.Dial("tcp", b.addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// failingRecording accepts limit bytes of output, then fails every write,
// as a full disk would.
type failingRecording struct {
	mu    sync.Mutex
	limit int
	n     int
}

func (f *failingRecording) Output(p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n+len(p) > f.limit {
		return os.ErrPermission
	}
	f.n += len(p)
	return nil
}
func (f *failingRecording) Resize(int, int) error { return nil }
func (f *failingRecording) Marker(string) error   { return nil }
func (f *failingRecording) Bytes() int64          { return int64(f.n) }
func (f *failingRecording) Close(recorder.ExitInfo) (recorder.Manifest, error) {
	return recorder.Manifest{}, nil
}

func (f *failingRecording) Offset() recorder.Position { return recorder.Position{} }

func (f *failingRecording) Input([]byte) error { return nil }
