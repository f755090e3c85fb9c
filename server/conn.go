package server

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"
)

// connState is one client connection, from accept to close. It is created
// when the TCP connection arrives (onConnect), bound to the certificate
// that authenticated it (verifiedKey), and registered with the server from
// then on, whether or not a channel is ever opened: the certificate sweep
// (bound.go) sees an idle multiplexed connection as well as a busy one.
type connState struct {
	nc     *trackedConn // closing it ends the SSH connection and every channel
	source string       // remote address as the client connected from
	ctx    gliderssh.Context

	// Set once by verifiedKey, before the connection is registered, and
	// read-only after.
	id       string
	user     string           // the SSH user name: LOGIN@TARGET or TARGET
	cert     *ssh.Certificate // the certificate that authenticated the connection
	identity string
	groups   []string

	mu       sync.Mutex      // guards the fields below; never held across network I/O
	sconn    *ssh.ServerConn // the SSH connection, known from the first channel
	upstream *ssh.Client
	dialing  chan struct{} // closed when the dial in progress ends
	next     int           // session sequence number within the connection
	live     map[*session]struct{}
	agent    bool  // a session was allowed agent forwarding
	ended    error // why the bastion ended the connection; no new channel after it
	channels int   // session and forwarding channels being handled
}

// connStateKey holds a connection's *connState in its gliderlabs context.
type connStateKey struct{}

func connStateOf(ctx gliderssh.Context) *connState {
	c, _ := ctx.Value(connStateKey{}).(*connState)
	return c
}

// trackedConn is the client's net.Conn; closing it (gliderlabs does so
// however the connection ends) releases the connection's slot and forgets
// its state. It notes when traffic last passed, for the idle timeout.
type trackedConn struct {
	net.Conn
	once    sync.Once
	onClose func()
	now     func() time.Time
	active  atomic.Int64 // Unix nanoseconds of the last read or write
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.active.Store(c.now().UnixNano())
	}
	return n, err
}

func (c *trackedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.active.Store(c.now().UnixNano())
	}
	return n, err
}

// idleSince is when traffic last passed.
func (c *trackedConn) idleSince() time.Time { return time.Unix(0, c.active.Load()) }

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.onClose)
	return err
}

// register makes an authenticated connection visible to the sweep.
func (s *Server) register(c *connState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[c] = struct{}{}
}

// forget drops a closed connection and closes its upstream.
func (s *Server) forget(c *connState) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.closeUpstream()
}

// liveConns is a snapshot of the registered connections, taken under the
// server lock and used outside it.
func (s *Server) liveConns() []*connState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*connState, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// bind records the SSH connection (gliderlabs hands it to channel
// handlers only); agent channels are opened back to the client on it.
func (c *connState) bind(conn *ssh.ServerConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sconn == nil {
		c.sconn = conn
	}
}

func (c *connState) serverConn() *ssh.ServerConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sconn
}

func (c *connState) allowAgent() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.agent = true
}

func (c *connState) agentAllowed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.agent
}

func (c *connState) nextSessionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	return c.id + "-" + strconv.Itoa(c.next)
}

// dial returns the connection's upstream client, dialling it on first use.
// The lock is not held during the dial: a second caller waits for the
// first one's result (or its own ctx), and the sweep is never stalled by a
// slow target.
func (c *connState) dial(ctx context.Context, u *Upstream, r DialRequest) (*ssh.Client, bool, error) {
	for {
		c.mu.Lock()
		if c.ended != nil {
			c.mu.Unlock()
			return nil, false, c.ended
		}
		if c.upstream != nil {
			cl := c.upstream
			c.mu.Unlock()
			return cl, false, nil
		}
		if wait := c.dialing; wait != nil {
			c.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, false, ctx.Err()
			}
		}
		done := make(chan struct{})
		c.dialing = done
		c.mu.Unlock()

		cl, err := u.Dial(ctx, r)

		c.mu.Lock()
		c.dialing = nil
		close(done)
		if err == nil && c.ended != nil {
			// The connection ended while the dial ran.
			err = c.ended
			cl.Close()
		}
		if err != nil {
			c.mu.Unlock()
			return nil, false, err
		}
		c.upstream = cl
		c.mu.Unlock()
		return cl, true, nil
	}
}

// dropUpstream forgets a broken upstream so the next session redials.
func (c *connState) dropUpstream(cl *ssh.Client) {
	c.mu.Lock()
	if c.upstream == cl {
		c.upstream = nil
	}
	c.mu.Unlock()
	cl.Close()
}

func (c *connState) closeUpstream() {
	c.mu.Lock()
	cl := c.upstream
	c.upstream = nil
	c.mu.Unlock()
	if cl != nil {
		cl.Close()
	}
}

// addLive and removeLive track running sessions, so that the sweep can end
// them. addLive fails once the connection has ended.
func (c *connState) addLive(ss *session) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended != nil {
		return c.ended
	}
	c.live[ss] = struct{}{}
	return nil
}

func (c *connState) removeLive(ss *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.live, ss)
}

// end marks the connection ended and returns the sessions to end with it;
// false if it had already ended.
func (c *connState) end(cause error) ([]*session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended != nil {
		return nil, false
	}
	c.ended = cause
	out := make([]*session, 0, len(c.live))
	for ss := range c.live {
		out = append(out, ss)
	}
	return out, true
}

// certExpiry is when the connection's certificate stops being valid (the
// zero time if it never does).
func (c *connState) certExpiry() time.Time {
	if c.cert == nil || c.cert.ValidBefore == ssh.CertTimeInfinity {
		return time.Time{}
	}
	return time.Unix(int64(c.cert.ValidBefore), 0)
}

// openChannel and closeChannel count the channels being handled, so that a
// drain can close a connection as soon as nothing runs on it; closeChannel
// reports whether none is left.
func (c *connState) openChannel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.channels++
}

func (c *connState) closeChannel() (idle bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.channels--
	return c.channels == 0
}

func (c *connState) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.channels == 0
}
