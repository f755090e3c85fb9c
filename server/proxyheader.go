package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/pires/go-proxyproto"
)

// PROXY protocol (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt).
// Behind a TCP load balancer every connection comes from the balancer; the
// balancer states the real client address in a header before the SSH
// banner. That address is what the audit trail, the per-source limits and a
// certificate's source-address option must see, so the header is believed
// only from the configured balancers, and from them it is required: the
// spec's receiver "MUST not try to guess whether the protocol header is
// present or not". From any other peer a header is refused, so a client
// cannot claim an address it does not have.

// Reasons a connection's PROXY header is refused, each an audit reason code.
var (
	// ErrProxyHeaderMissing: a trusted balancer opened a connection without one.
	ErrProxyHeaderMissing = errors.New("server: no PROXY protocol header from a trusted load balancer")
	// ErrProxyHeaderInvalid: the header is malformed, not version 2, or names
	// no usable TCP source address.
	ErrProxyHeaderInvalid = errors.New("server: invalid PROXY protocol header")
	// ErrProxyHeaderUntrusted: a peer that is not a configured balancer sent one.
	ErrProxyHeaderUntrusted = errors.New("server: PROXY protocol header from an untrusted peer")
)

// proxyReasonCode is the stable audit code of a header refusal.
func proxyReasonCode(err error) string {
	switch {
	case errors.Is(err, ErrProxyHeaderMissing):
		return "proxy-header-missing"
	case errors.Is(err, ErrProxyHeaderUntrusted), errors.Is(err, proxyproto.ErrSuperfluousProxyHeader):
		return "proxy-header-untrusted"
	}
	return "proxy-header-invalid"
}

// proxyTrusted reports whether addr is a configured load balancer.
func (s *Server) proxyTrusted(addr net.Addr) bool {
	if len(s.cfg.ProxyProtocolFrom) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range s.cfg.ProxyProtocolFrom {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// acceptProxyHeader wraps a new connection according to who sent it. From a
// trusted balancer the header is read now, before anything counts the
// connection against a source, bounded by deadline; the returned
// connection's RemoteAddr is the client the header names. From anyone else
// the connection is returned with a check, made on the first read (after the
// bastion's banner is sent, so a client that waits for it is not stalled),
// that fails the handshake with ErrProxyHeaderUntrusted if it opens with a
// header.
func (s *Server) acceptProxyHeader(nc net.Conn, deadline time.Time) (net.Conn, error) {
	if !s.proxyTrusted(nc.RemoteAddr()) {
		return &headerRefusingConn{Conn: nc, pc: proxyproto.NewConn(nc, proxyproto.WithPolicy(proxyproto.REJECT),
			proxyproto.SetReadHeaderTimeout(0))}, nil
	}
	if err := nc.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(nc, proxyHeaderBuffer)
	source, err := readProxyHeader(br)
	if err != nil {
		return nil, err
	}
	if err := nc.SetReadDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return &proxiedConn{Conn: nc, br: br, source: source}, nil
}

// proxyHeaderBuffer holds a version 2 header with its TLVs in the common
// case (HAProxy sends 28 or 52 bytes of addresses plus a few TLVs); longer
// headers are read in several reads, up to proxyproto.MaxV2HeaderSize.
const proxyHeaderBuffer = 512

// readProxyHeader reads the header a trusted balancer sends first and
// returns the client address it names. Only version 2 is accepted (it is
// binary and length-prefixed; HAProxy's send-proxy-v2), with the PROXY
// command over TCP: a LOCAL connection (the balancer's own, carrying no
// client) has no use here, since health checks go to /readyz.
func readProxyHeader(br *bufio.Reader) (*net.TCPAddr, error) {
	h, err := proxyproto.Read(br)
	switch {
	case errors.Is(err, proxyproto.ErrNoProxyProtocol):
		return nil, ErrProxyHeaderMissing
	case err != nil:
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// The balancer went away or said nothing in time.
			return nil, fmt.Errorf("%w: %w", ErrProxyHeaderMissing, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrProxyHeaderInvalid, err)
	case h.Version != 2:
		return nil, fmt.Errorf("%w: version %d (configure the balancer for version 2)", ErrProxyHeaderInvalid, h.Version)
	case !h.Command.IsProxy():
		return nil, fmt.Errorf("%w: LOCAL command carries no client address", ErrProxyHeaderInvalid)
	case !h.TransportProtocol.IsStream():
		return nil, fmt.Errorf("%w: transport is not TCP", ErrProxyHeaderInvalid)
	}
	src, ok := h.SourceAddr.(*net.TCPAddr)
	if !ok || src.IP == nil || src.IP.IsUnspecified() {
		return nil, fmt.Errorf("%w: no usable source address", ErrProxyHeaderInvalid)
	}
	return src, nil
}

// proxiedConn is a connection from a trusted balancer, past its header:
// RemoteAddr is the client's, and reads drain what was buffered with the
// header before going to the socket directly.
type proxiedConn struct {
	net.Conn
	br     *bufio.Reader // nil once drained; read by the one reading goroutine
	source *net.TCPAddr
}

func (c *proxiedConn) RemoteAddr() net.Addr { return c.source }

func (c *proxiedConn) Read(p []byte) (int, error) {
	if c.br != nil {
		if c.br.Buffered() > 0 {
			return c.br.Read(p)
		}
		c.br = nil
	}
	return c.Conn.Read(p)
}

// headerRefusingConn is a connection from any peer that is not a trusted
// balancer: go-proxyproto's REJECT policy fails its first read with
// ErrSuperfluousProxyHeader if it opens with a header. The socket's own
// addresses are reported without waiting for that check.
type headerRefusingConn struct {
	net.Conn // the socket, for addresses and deadlines
	pc       *proxyproto.Conn
}

func (c *headerRefusingConn) Read(p []byte) (int, error) {
	n, err := c.pc.Read(p)
	if errors.Is(err, proxyproto.ErrSuperfluousProxyHeader) {
		return n, fmt.Errorf("%w: %w", ErrProxyHeaderUntrusted, err)
	}
	return n, err
}

func (c *headerRefusingConn) Write(p []byte) (int, error) { return c.Conn.Write(p) }
