package config

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"
)

// ProxyProtocol names the load balancers in front of the SSH listener.
// Their connections must open with a PROXY protocol v2 header stating the
// client's address, which the bastion then uses for audit records,
// per-source limits and certificates' source-address option. A header from
// any other peer is refused.
type ProxyProtocol struct {
	// Trusted are the balancers' addresses ("10.0.0.5") or ranges
	// ("10.0.0.0/24"). Empty: PROXY protocol is off and nobody may send a
	// header.
	Trusted []string `yaml:"trusted"`
}

// Prefixes returns Trusted as prefixes (a single address as a /32 or
// /128). The config was validated, so every entry parses.
func (p ProxyProtocol) Prefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(p.Trusted))
	for _, s := range p.Trusted {
		if pfx, err := parseTrusted(s); err == nil {
			out = append(out, pfx)
		}
	}
	return out
}

func parseTrusted(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("IPv4-mapped range %s is wider than IPv4", s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (c *Config) validateLoadBalancer() error {
	for i, s := range c.ListenProxyProtocol.Trusted {
		field := fmt.Sprintf("listen_proxy_protocol.trusted[%d]", i)
		p, err := parseTrusted(s)
		if err != nil {
			return invalid(field, "%q is not an IP address or CIDR range", s)
		}
		if p.Bits() == 0 {
			// Every peer could then state any address it likes.
			return invalid(field, "%q trusts every address; name the load balancers", s)
		}
	}
	if c.Limits.DrainTimeout < 0 {
		return invalid("limits.drain_timeout", "must not be negative")
	}
	if l := c.Limits.NodeStaleAfter; l != 0 && l < time.Second {
		// Below a second, a node's own stalls would pass for death.
		return invalid("limits.node_stale_after", "%s is under the minimum of 1s", l)
	}
	if c.Node != "" && !validNode(c.Node) {
		return invalid("node", "%q: use letters, digits, '-', '_' and '.' only, at most 64", c.Node)
	}
	return nil
}

// DefaultDrainTimeout is limits.drain_timeout's default.
const DefaultDrainTimeout = 10 * time.Second

// NodeName is this bastion's name in recordings and audit events: the
// configured node, or else the host name.
func (c *Config) NodeName() string {
	if c.Node != "" {
		return c.Node
	}
	h, err := os.Hostname()
	if err != nil || !validNode(h) {
		return "unnamed"
	}
	return h
}

func validNode(s string) bool { return s != "" && len(s) <= 64 && validName(s) }
