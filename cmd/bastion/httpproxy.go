package main

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/pires/go-proxyproto"
)

// proxyListener makes the certificate API's listener take the client's
// address from a PROXY protocol header under the same rule as the SSH
// listener (server/proxyheader.go, listen_proxy_protocol.trusted): from a
// trusted balancer the header is required, from anyone else it is
// refused, so a client cannot claim an address for the audit trail, the
// per-address rate limit or bind_source_address. Only version 2 with the
// PROXY command over TCP is accepted, as on the SSH port.
//
// A refused connection fails its TLS handshake (logged by the HTTP
// server); it reaches no handler, so nothing is issued and nothing is
// audited for it.
func proxyListener(ln net.Listener, trusted []netip.Prefix) net.Listener {
	return &proxyproto.Listener{
		Listener:          ln,
		ReadHeaderTimeout: apiReadHeaderTimeout,
		ConnPolicy: func(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
			if trustedPeer(o.Upstream, trusted) {
				return proxyproto.REQUIRE, nil
			}
			return proxyproto.REJECT, nil
		},
		ValidateHeader: func(h *proxyproto.Header) error {
			switch {
			case h.Version != 2:
				return fmt.Errorf("certificate API: PROXY protocol version %d (configure the balancer for version 2)", h.Version)
			case !h.Command.IsProxy():
				return fmt.Errorf("certificate API: PROXY header with the LOCAL command carries no client address")
			case !h.TransportProtocol.IsStream():
				return fmt.Errorf("certificate API: PROXY header transport is not TCP")
			}
			return nil
		},
	}
}

// trustedPeer reports whether addr lies in one of the trusted ranges.
func trustedPeer(addr net.Addr, trusted []netip.Prefix) bool {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
