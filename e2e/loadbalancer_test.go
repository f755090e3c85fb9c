package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/internal/proxyrelay"
)

// balancerConfig trusts 127.0.0.2 as the load balancer; tests relay from
// there (Linux answers on all of 127.0.0.0/8), while a client connecting
// from 127.0.0.1 is an ordinary peer.
const balancerConfig = "listen_proxy_protocol:\n  trusted: [127.0.0.2]\nnode: bastion-a\n"

func tcpAddr(s string) *net.TCPAddr { return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s)) }

func startRelay(t *testing.T, upstream string, o proxyrelay.Options) *proxyrelay.Relay {
	t.Helper()
	r, err := proxyrelay.Start(upstream, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// sshVia runs the real ssh client against a relay in front of b; the host
// key is the bastion's own.
func (b *bastion) sshVia(t *testing.T, r *proxyrelay.Relay, c client, user string, args ...string) result {
	t.Helper()
	all := append(b.sshOpts(c), "-o", fmt.Sprintf("HostKeyAlias=[127.0.0.1]:%d", b.port), "-p", fmt.Sprint(r.Port()), user+"@127.0.0.1")
	return runCmd(t, "ssh", append(all, args...)...)
}

func TestBehindLoadBalancer(t *testing.T) {
	g := newGatewayIn(t, t.TempDir(), balancerConfig)
	lb := startRelay(t, g.addr, proxyrelay.Options{Source: tcpAddr("203.0.113.9:4711"), From: tcpAddr("127.0.0.2:0")})

	t.Run("audit-names-the-client", func(t *testing.T) {
		r := g.sshVia(t, lb, g.alice, "root@target", "echo through-the-balancer")
		if r.code != 0 || r.stdout != "through-the-balancer\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		for _, typ := range []string{"auth.certificate", "session.start"} {
			evs := g.audit(t, typ)
			if len(evs) == 0 || evs[len(evs)-1].SourceAddr != "203.0.113.9:4711" {
				t.Errorf("%s events %+v: want source 203.0.113.9:4711, the header's", typ, evs)
			}
		}
		var rows []struct {
			SourceAddr string `json:"source_addr"`
			Recording  string `json:"recording"`
		}
		if err := json.Unmarshal([]byte(g.cli(t, "sessions", "list", "--json")), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 || rows[0].SourceAddr != "203.0.113.9:4711" {
			t.Fatalf("sessions list: %+v", rows)
		}
		// The recording and the audit trail name the node.
		data, err := os.ReadFile(rows[0].Recording)
		if err != nil {
			t.Fatal(err)
		}
		header, _, _ := strings.Cut(string(data), "\n")
		var h struct {
			Bastion struct {
				Node   string `json:"node"`
				Source string `json:"source"`
			} `json:"bastion"`
		}
		if err := json.Unmarshal([]byte(header), &h); err != nil || h.Bastion.Node != "bastion-a" || h.Bastion.Source != "203.0.113.9:4711" {
			t.Errorf("recording header %s: %v", header, err)
		}
		for _, typ := range []string{"bastion.start", "session.start", "session.end"} {
			evs := g.audit(t, typ)
			if len(evs) == 0 || evs[0].Detail["node"] != "bastion-a" {
				t.Errorf("%s events do not name the node: %+v", typ, evs)
			}
		}
	})

	t.Run("header-from-untrusted-peer-refused", func(t *testing.T) {
		forger := startRelay(t, g.addr, proxyrelay.Options{Source: tcpAddr("198.51.100.66:4711")})
		r := g.sshVia(t, forger, g.alice, "root@target", "echo forged")
		if r.code == 0 || strings.Contains(r.stdout, "forged") {
			t.Fatalf("a header from 127.0.0.1 was believed: exit %d, %q", r.code, r.stdout)
		}
		e := g.waitAudit(t, "connection.failed", "proxy-header-untrusted")
		if !strings.HasPrefix(e.SourceAddr, "127.0.0.1:") {
			t.Errorf("refusal recorded for %q, want the real peer", e.SourceAddr)
		}
		// The same peer without a header is served.
		if r := g.ssh(t, g.alice, "root@target", "echo direct"); r.code != 0 || r.stdout != "direct\n" {
			t.Errorf("direct: exit %d, %q %q", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("balancer-without-header-refused", func(t *testing.T) {
		bare := startRelay(t, g.addr, proxyrelay.Options{NoHeader: true, From: tcpAddr("127.0.0.2:0")})
		if r := g.sshVia(t, bare, g.alice, "root@target", "true"); r.code == 0 {
			t.Fatal("a trusted balancer's connection without a header was served")
		}
		e := g.waitAudit(t, "connection.failed", "proxy-header-missing")
		if !strings.HasPrefix(e.SourceAddr, "127.0.0.2:") {
			t.Errorf("refusal recorded for %q, want the balancer", e.SourceAddr)
		}
	})

	t.Run("source-address-certificate", func(t *testing.T) {
		bound := newClient(t, g.userCA, certauth.UserRequest{Identity: "carol@example.com", Groups: []string{"ops"}, SourceAddress: "203.0.113.0/24"})
		if r := g.sshVia(t, lb, bound, "root@target", "echo bound"); r.code != 0 || r.stdout != "bound\n" {
			t.Fatalf("client in the certificate's range, through the balancer: exit %d %q %q", r.code, r.stdout, r.stderr)
		}
		if r := g.ssh(t, bound, "root@target", "echo bound"); r.code == 0 {
			t.Fatal("a certificate bound to 203.0.113.0/24 was accepted from 127.0.0.1")
		}
		forger := startRelay(t, g.addr, proxyrelay.Options{Source: tcpAddr("203.0.113.9:4711")})
		if r := g.sshVia(t, forger, bound, "root@target", "echo bound"); r.code == 0 {
			t.Fatal("a forged header satisfied the certificate's source-address")
		}
		e := g.waitAudit(t, "auth.certificate", "source-address")
		if e.Outcome != "denied" || !strings.HasPrefix(e.SourceAddr, "127.0.0.1:") {
			t.Errorf("source-address refusal: %+v", e)
		}
	})
}
