package server

import (
	"context"
	"strconv"
	"sync"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"
)

// connState is what the sessions of one client connection share: its id
// and the upstream connection, dialled once and multiplexed.
type connState struct {
	id     string
	conn   *ssh.ServerConn
	source string
	cert   *ssh.Certificate // the certificate that authenticated the connection

	mu       sync.Mutex // guards the fields below
	upstream *ssh.Client
	next     int // session sequence number within the connection
	live     map[*session]struct{}
	agent    bool // a session was allowed agent forwarding
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

// conn returns the state of a client connection, creating it on first use.
// The state lives until the connection closes, which also closes the
// upstream connection.
func (s *Server) conn(ctx gliderssh.Context, conn *ssh.ServerConn) *connState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.conns[conn]; c != nil {
		return c
	}
	c := &connState{id: connIDFromMeta(conn), conn: conn, source: conn.RemoteAddr().String(),
		cert: connCert(ctx), live: map[*session]struct{}{}}
	s.conns[conn] = c
	s.sessions.Add(1)
	go func() {
		defer s.sessions.Done()
		<-ctx.Done()
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		c.closeUpstream()
	}()
	return c
}

func (c *connState) nextSessionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	return c.id + "-" + strconv.Itoa(c.next)
}

// dial returns the connection's upstream client, dialling it on first use.
func (c *connState) dial(ctx context.Context, u *Upstream, r DialRequest) (*ssh.Client, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.upstream != nil {
		return c.upstream, false, nil
	}
	cl, err := u.Dial(ctx, r)
	if err != nil {
		return nil, false, err
	}
	c.upstream = cl
	return cl, true, nil
}

// dropUpstream forgets a broken upstream so the next session redials.
func (c *connState) dropUpstream(cl *ssh.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.upstream == cl {
		c.upstream = nil
	}
	cl.Close()
}

func (c *connState) closeUpstream() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.upstream != nil {
		c.upstream.Close()
		c.upstream = nil
	}
}

// addLive and removeLive track running sessions, so that a revocation can
// end them. A session is added only once its upstream channel is set.
func (c *connState) addLive(ss *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live[ss] = struct{}{}
}

func (c *connState) removeLive(ss *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.live, ss)
}

func (c *connState) liveSessions() []*session {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*session, 0, len(c.live))
	for ss := range c.live {
		out = append(out, ss)
	}
	return out
}
