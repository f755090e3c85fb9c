package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestProxyProtocolTrusted(t *testing.T) {
	c, err := Parse([]byte(valid+"listen_proxy_protocol:\n  trusted: [10.0.0.0/24, 192.0.2.7, \"::ffff:198.51.100.0/120\", \"2001:db8::1\"]\n"), "/etc/bastion")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8::1/128"),
	}
	if got := c.ListenProxyProtocol.Prefixes(); !slices.Equal(got, want) {
		t.Errorf("Prefixes() = %v, want %v", got, want)
	}
}

func TestLoadBalancerRejects(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"not-an-address", "listen_proxy_protocol:\n  trusted: [lb.example.com]\n", "listen_proxy_protocol.trusted[0]: \"lb.example.com\" is not an IP address"},
		{"bad-range", "listen_proxy_protocol:\n  trusted: [10.0.0.0/33]\n", "trusted[0]"},
		{"everyone-v4", "listen_proxy_protocol:\n  trusted: [10.0.0.1, 0.0.0.0/0]\n", "trusted[1]: \"0.0.0.0/0\" trusts every address"},
		{"everyone-v6", "listen_proxy_protocol:\n  trusted: [\"::/0\"]\n", "trusts every address"},
		{"mapped-too-wide", "listen_proxy_protocol:\n  trusted: [\"::ffff:0:0/90\"]\n", "trusted[0]"},
		{"negative-drain", "limits:\n  drain_timeout: -1s\n", "limits.drain_timeout: must not be negative"},
		{"bad-node", "node: \"a b\"\n", "node: \"a b\""},
		{"long-node", "node: " + strings.Repeat("n", 65) + "\n", "node:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(valid+tc.yaml), "/etc/bastion")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestNodeName(t *testing.T) {
	c, err := Parse([]byte(valid+"node: bastion-a\n"), "/etc/bastion")
	if err != nil {
		t.Fatal(err)
	}
	if c.NodeName() != "bastion-a" {
		t.Errorf("NodeName() = %q", c.NodeName())
	}
	c.Node = ""
	if n := c.NodeName(); n == "" || !validNode(n) {
		t.Errorf("default NodeName() = %q, want the host name or a valid stand-in", n)
	}
}
