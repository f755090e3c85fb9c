package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/pires/go-proxyproto"
	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/internal/proxyrelay"
	"github.com/bastion-ssh/bastion/store"
)

const demoPolicy = "access:\n  - {name: ops, groups: [ops], targets: [demo], logins: [demo]}\n"

// trustProxies configures the load balancers a test bastion trusts.
func trustProxies(prefixes ...string) func(*Config) {
	return func(c *Config) {
		for _, p := range prefixes {
			c.ProxyProtocolFrom = append(c.ProxyProtocolFrom, netip.MustParsePrefix(p))
		}
	}
}

func startRelay(t *testing.T, upstream string, o proxyrelay.Options) *proxyrelay.Relay {
	t.Helper()
	r, err := proxyrelay.Start(upstream, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func tcpAddr(s string) *net.TCPAddr { return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s)) }

// dialAt connects to addr (the bastion or a relay in front of it) with a
// fresh certificate for req.
func (b *testBastion) dialAt(t *testing.T, addr string, req certauth.UserRequest) (*ssh.Client, error) {
	t.Helper()
	key := newSigner(t)
	req.PublicKey = key.PublicKey()
	if req.Groups == nil {
		req.Groups = []string{"ops"}
	}
	cert, err := b.userCA.SignUser(req)
	if err != nil {
		t.Fatal(err)
	}
	certSigner, err := ssh.NewCertSigner(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "demo@demo",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(certSigner)}, HostKeyCallback: ssh.FixedHostKey(b.hostKey)})
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func runOK(t *testing.T, c *ssh.Client, cmd string) string {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Output(cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return string(out)
}

// failureCodes are the reason codes of the connection.failed events.
func (b *testBastion) failureCodes() []string {
	var out []string
	for _, e := range b.store.eventsOf("connection.failed") {
		out = append(out, e.Detail["reason_code"].(string)+" from "+sourceIP(e.SourceAddr))
	}
	return out
}

func TestProxyHeaderNamesTheClient(t *testing.T) {
	b := startTestBastionWith(t, nil, demoPolicy, trustProxies("127.0.0.1/32"))
	lb := startRelay(t, b.addr, proxyrelay.Options{Source: tcpAddr("203.0.113.9:4711")})
	c, err := b.dialAt(t, lb.Addr(), certauth.UserRequest{Identity: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if out := runOK(t, c, "echo hi"); out != "hi\n" {
		t.Fatalf("output %q", out)
	}
	for _, typ := range []string{"auth.certificate", "session.start"} {
		evs := b.store.eventsOf(typ)
		if len(evs) != 1 || evs[0].SourceAddr != "203.0.113.9:4711" {
			t.Errorf("%s events = %+v, want source 203.0.113.9:4711 from the header", typ, evs)
		}
	}
	b.store.mu.Lock()
	defer b.store.mu.Unlock()
	for _, s := range b.store.sessions {
		if s.SourceAddr != "203.0.113.9:4711" {
			t.Errorf("session row source = %q", s.SourceAddr)
		}
	}
}

// A client that is not a configured balancer cannot state its own address.
func TestProxyHeaderFromUntrustedPeerRefused(t *testing.T) {
	b := startTestBastionWith(t, nil, demoPolicy, trustProxies("192.0.2.1/32"))
	forger := startRelay(t, b.addr, proxyrelay.Options{Source: tcpAddr("203.0.113.9:4711")})
	if _, err := b.dialAt(t, forger.Addr(), certauth.UserRequest{Identity: "mallory@example.com"}); err == nil {
		t.Fatal("a connection with a header from an untrusted peer was served")
	}
	waitFor(t, func() bool { return len(b.store.eventsOf("connection.failed")) > 0 })
	if got := b.failureCodes(); len(got) != 1 || got[0] != "proxy-header-untrusted from 127.0.0.1" {
		t.Errorf("connection.failed = %q, want one proxy-header-untrusted from the real peer", got)
	}
	if n := len(b.store.eventsOf("auth.certificate")); n != 0 {
		t.Errorf("%d authentications recorded; the handshake should end before", n)
	}
	// The same peer without a header is an ordinary client.
	c, err := b.dialAt(t, b.addr, certauth.UserRequest{Identity: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	runOK(t, c, "true")
}

// With PROXY protocol off, a header is refused all the same.
func TestProxyHeaderRefusedWhenOff(t *testing.T) {
	b := startTestBastion(t, nil)
	forger := startRelay(t, b.addr, proxyrelay.Options{Source: tcpAddr("203.0.113.9:4711")})
	if _, err := b.dialAt(t, forger.Addr(), certauth.UserRequest{Identity: "mallory@example.com"}); err == nil {
		t.Fatal("a connection with a header was served with PROXY protocol off")
	}
	waitFor(t, func() bool { return len(b.store.eventsOf("connection.failed")) > 0 })
	if got := b.failureCodes(); got[0] != "proxy-header-untrusted from 127.0.0.1" {
		t.Errorf("connection.failed = %q", got)
	}
}

// A trusted balancer must send the header: without it the balancer's own
// address would stand in for every client.
func TestTrustedPeerWithoutHeaderRefused(t *testing.T) {
	b := startTestBastionWith(t, nil, demoPolicy, trustProxies("127.0.0.0/8"))
	if _, err := b.dialAt(t, b.addr, certauth.UserRequest{Identity: "alice@example.com"}); err == nil {
		t.Fatal("a trusted peer was served without a header")
	}
	waitFor(t, func() bool { return len(b.store.eventsOf("connection.failed")) > 0 })
	if got := b.failureCodes(); len(got) != 1 || got[0] != "proxy-header-missing from 127.0.0.1" {
		t.Errorf("connection.failed = %q", got)
	}
}

// A certificate's source-address is checked against the header's address:
// a client inside the range gets in through the balancer, and the
// balancer's own address does not satisfy a certificate bound to it.
func TestSourceAddressCheckedAgainstHeader(t *testing.T) {
	b := startTestBastionWith(t, nil, demoPolicy, trustProxies("127.0.0.2/32"))
	lb := startRelay(t, b.addr, proxyrelay.Options{Source: tcpAddr("203.0.113.9:4711"), From: tcpAddr("127.0.0.2:0")})

	c, err := b.dialAt(t, lb.Addr(), certauth.UserRequest{Identity: "alice@example.com", SourceAddress: "203.0.113.0/24"})
	if err != nil {
		t.Fatalf("certificate bound to the client's range refused: %v", err)
	}
	runOK(t, c, "true")

	if _, err := b.dialAt(t, lb.Addr(), certauth.UserRequest{Identity: "bob@example.com", SourceAddress: "127.0.0.2/32"}); err == nil {
		t.Fatal("a certificate bound to the balancer's address was accepted for a client elsewhere")
	}
	var denied []store.Event
	for _, e := range b.store.eventsOf("auth.certificate") {
		if e.Outcome == store.OutcomeDenied {
			denied = append(denied, e)
		}
	}
	if len(denied) != 1 || denied[0].SourceAddr != "203.0.113.9:4711" || !strings.Contains(denied[0].Reason, "source-address") {
		t.Errorf("denied auth events = %+v", denied)
	}

	// The attacker's try: a certificate bound to 203.0.113.9 used from
	// elsewhere, with a forged header claiming that address.
	forger := startRelay(t, b.addr, proxyrelay.Options{Source: tcpAddr("203.0.113.9:4711")})
	if _, err := b.dialAt(t, forger.Addr(), certauth.UserRequest{Identity: "mallory@example.com", SourceAddress: "203.0.113.9"}); err == nil {
		t.Fatal("a forged header satisfied a certificate's source-address")
	}
}

// The per-source connection limit counts clients, not the balancer.
func TestSourceLimitCountsTheClient(t *testing.T) {
	b := startTestBastionWith(t, nil, demoPolicy, trustProxies("127.0.0.1/32"), func(c *Config) { c.MaxConnsPerSource = 1 })
	one := startRelay(t, b.addr, proxyrelay.Options{Source: tcpAddr("203.0.113.1:1000")})
	two := startRelay(t, b.addr, proxyrelay.Options{Source: tcpAddr("203.0.113.2:1000")})
	for _, lb := range []*proxyrelay.Relay{one, two} {
		if _, err := b.dialAt(t, lb.Addr(), certauth.UserRequest{Identity: "alice@example.com"}); err != nil {
			t.Fatalf("client behind the balancer refused: %v", err)
		}
	}
	if _, err := b.dialAt(t, one.Addr(), certauth.UserRequest{Identity: "alice@example.com"}); err == nil {
		t.Fatal("a second connection from 203.0.113.1 passed a limit of 1")
	}
	waitFor(t, func() bool { return len(b.store.eventsOf("connection.limited")) > 0 })
	if e := b.store.eventsOf("connection.limited")[0]; sourceIP(e.SourceAddr) != "203.0.113.1" {
		t.Errorf("limited source = %q", e.SourceAddr)
	}
}

func proxyHeaderSeeds(t testing.TB) [][]byte {
	t.Helper()
	var seeds [][]byte
	add := func(h *proxyproto.Header) {
		b, err := h.Format()
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, append(b, "SSH-2.0-OpenSSH_9.6\r\n"...))
	}
	add(proxyproto.HeaderProxyFromAddrs(2, tcpAddr("203.0.113.9:4711"), tcpAddr("10.0.0.1:22")))
	add(proxyproto.HeaderProxyFromAddrs(2, tcpAddr("[2001:db8::9]:4711"), tcpAddr("[2001:db8::1]:22")))
	add(proxyproto.HeaderProxyFromAddrs(1, tcpAddr("203.0.113.9:4711"), tcpAddr("10.0.0.1:22")))
	add(proxyproto.HeaderProxyFromAddrs(2, &net.UDPAddr{IP: net.IPv4(203, 0, 113, 9), Port: 53}, &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 53}))
	add(proxyproto.HeaderProxyFromAddrs(2, tcpAddr("0.0.0.0:1"), tcpAddr("10.0.0.1:22")))
	add(&proxyproto.Header{Version: 2, Command: proxyproto.LOCAL, TransportProtocol: proxyproto.UNSPEC})
	withTLV := proxyproto.HeaderProxyFromAddrs(2, tcpAddr("203.0.113.9:4711"), tcpAddr("10.0.0.1:22"))
	if err := withTLV.SetTLVs([]proxyproto.TLV{{Type: proxyproto.PP2_TYPE_AUTHORITY, Value: []byte("bastion.example")}}); err != nil {
		t.Fatal(err)
	}
	add(withTLV)
	seeds = append(seeds, []byte("SSH-2.0-OpenSSH_9.6\r\n"), []byte{}, proxyproto.SIGV2, []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"))
	return seeds
}

func TestReadProxyHeader(t *testing.T) {
	seeds := proxyHeaderSeeds(t)
	for i, want := range []struct {
		source string
		err    error
	}{
		{"203.0.113.9:4711", nil},
		{"[2001:db8::9]:4711", nil},
		{"", ErrProxyHeaderInvalid}, // version 1
		{"", ErrProxyHeaderInvalid}, // UDP
		{"", ErrProxyHeaderInvalid}, // unspecified source
		{"", ErrProxyHeaderInvalid}, // LOCAL
		{"203.0.113.9:4711", nil},   // with a TLV
		{"", ErrProxyHeaderMissing}, // an SSH banner
		{"", ErrProxyHeaderMissing}, // nothing
		{"", ErrProxyHeaderMissing}, // a signature and then the end
		{"", ErrProxyHeaderInvalid}, // version 1 again
	} {
		// One byte per read, into the smallest buffer: a header split at
		// every boundary reads the same.
		br := bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(seeds[i])), 16)
		src, err := readProxyHeader(br)
		if want.err != nil {
			if !errors.Is(err, want.err) {
				t.Errorf("seed %d: err = %v, want %v", i, err, want.err)
			}
			continue
		}
		if err != nil || src.String() != want.source {
			t.Errorf("seed %d: %v, %v; want %s", i, src, err, want.source)
			continue
		}
		if rest, _ := io.ReadAll(br); string(rest) != "SSH-2.0-OpenSSH_9.6\r\n" {
			t.Errorf("seed %d: after the header the stream reads %q", i, rest)
		}
	}
}

// FuzzReadProxyHeader: whatever a balancer (or something posing as one)
// sends, the reader never panics, accepts only a version 2 header naming a
// usable TCP source, and leaves the bytes after the header untouched.
func FuzzReadProxyHeader(f *testing.F) {
	for _, s := range proxyHeaderSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		src, err := readProxyHeader(br)
		if err != nil {
			if !errors.Is(err, ErrProxyHeaderMissing) && !errors.Is(err, ErrProxyHeaderInvalid) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if src == nil || src.IP == nil || src.IP.IsUnspecified() {
			t.Fatalf("accepted source %v", src)
		}
		if !bytes.HasPrefix(data, proxyproto.SIGV2) {
			t.Fatalf("accepted %q, which is not a version 2 header", data)
		}
		rest, _ := io.ReadAll(br)
		if len(rest) > len(data)-16 || !bytes.HasSuffix(data, rest) {
			t.Fatalf("the stream after the header is %q of %q", rest, data)
		}
	})
}

// A trusted peer that connects and says nothing holds its connection no
// longer than the handshake timeout.
func TestSilentBalancerTimesOut(t *testing.T) {
	b := startTestBastionWith(t, nil, demoPolicy, trustProxies("127.0.0.1/32"), func(c *Config) { c.HandshakeTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) // the test's own bound, far above the server's
	if n, err := c.Read(make([]byte, 64)); err != io.EOF {
		t.Fatalf("read %d bytes, %v: want the server to close the connection", n, err)
	}
	waitFor(t, func() bool { return len(b.store.eventsOf("connection.failed")) > 0 })
	if got := b.failureCodes(); len(got) != 1 || got[0] != "proxy-header-missing from 127.0.0.1" {
		t.Errorf("connection.failed = %q", got)
	}
}
