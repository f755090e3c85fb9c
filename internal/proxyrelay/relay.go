// Package proxyrelay is a TCP relay that opens each upstream connection with
// a PROXY protocol v2 header, as HAProxy's send-proxy-v2 does. It stands in
// for a load balancer in tests; the header is written by
// github.com/pires/go-proxyproto, not by hand.
package proxyrelay

import (
	"io"
	"net"
	"sync"

	"github.com/pires/go-proxyproto"
)

// Options says what the relay claims and where it dials from.
type Options struct {
	// Source is the client address the header states; nil means the
	// address the client really connected from.
	Source *net.TCPAddr
	// From is the local address upstream connections are made from (e.g.
	// 127.0.0.2, so that the bastion sees a different peer); nil: any.
	From *net.TCPAddr
	// NoHeader relays without a header, as a misconfigured balancer would.
	NoHeader bool
}

// Relay accepts on a loopback port and relays each connection upstream.
type Relay struct {
	ln       net.Listener
	upstream string
	opts     Options

	wg    sync.WaitGroup // the accept loop and every relayed connection
	mu    sync.Mutex     // guards conns
	conns map[net.Conn]struct{}
}

// Start listens on 127.0.0.1:0 and relays to upstream.
func Start(upstream string, o Options) (*Relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Relay{ln: ln, upstream: upstream, opts: o, conns: map[net.Conn]struct{}{}}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

// Addr is the relay's listening address.
func (r *Relay) Addr() string { return r.ln.Addr().String() }

// Port is the relay's listening port.
func (r *Relay) Port() int { return r.ln.Addr().(*net.TCPAddr).Port }

// Close stops accepting, closes every relayed connection and waits.
func (r *Relay) Close() error {
	err := r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	return err
}

func (r *Relay) track(c net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conns[c] = struct{}{}
}

func (r *Relay) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.track(c)
		r.wg.Add(1)
		go r.relay(c)
	}
}

func (r *Relay) relay(client net.Conn) {
	defer r.wg.Done()
	defer client.Close()
	d := net.Dialer{}
	if r.opts.From != nil {
		d.LocalAddr = r.opts.From
	}
	up, err := d.Dial("tcp", r.upstream)
	if err != nil {
		return
	}
	r.track(up)
	defer up.Close()
	if !r.opts.NoHeader {
		src := client.RemoteAddr()
		if r.opts.Source != nil {
			src = r.opts.Source
		}
		h := proxyproto.HeaderProxyFromAddrs(2, src, up.RemoteAddr())
		if _, err := h.WriteTo(up); err != nil {
			return
		}
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, client); up.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { io.Copy(client, up); client.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	<-done
	<-done
}
