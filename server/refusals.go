package server

import (
	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/store"
)

// Requests the bastion never carries, each refused with an audit event:
// a refusal nobody can see is a decision without evidence.

// refuseRemoteForward refuses `ssh -R` (tcpip-forward) and its Unix socket
// form (streamlocal-forward@openssh.com): a listener on the target that
// leads back into the client's network would bypass every session control.
func (s *Server) refuseRemoteForward(ctx gliderssh.Context, _ *gliderssh.Server, req *ssh.Request) (bool, []byte) {
	detail := map[string]any{"request": req.Type}
	if f, err := parsePayload[remoteForward](req.Payload); err == nil && (req.Type == "tcpip-forward" || req.Type == "cancel-tcpip-forward") {
		detail["bind"], detail["port"] = printable(f.Addr), f.Port
	}
	s.auditRefusal(connStateOf(ctx), "forward.remote", "remote forwarding is not supported", detail)
	return false, nil
}

// refuseStreamlocalChannel refuses `ssh -L` to a Unix socket on the target.
func (s *Server) refuseStreamlocalChannel(_ *gliderssh.Server, _ *ssh.ServerConn, nc ssh.NewChannel, ctx gliderssh.Context) {
	s.auditRefusal(connStateOf(ctx), "forward.streamlocal", "forwarding to Unix sockets is not supported",
		map[string]any{"channel": nc.ChannelType()})
	nc.Reject(ssh.Prohibited, "forwarding to Unix sockets is not supported")
}

// refuseChannel refuses any other channel type (x11 from a client, and
// whatever else a client opens).
func (s *Server) refuseChannel(_ *gliderssh.Server, _ *ssh.ServerConn, nc ssh.NewChannel, ctx gliderssh.Context) {
	s.auditRefusal(connStateOf(ctx), "channel.refused", "unsupported channel type",
		map[string]any{"channel": printable(nc.ChannelType())})
	nc.Reject(ssh.UnknownChannelType, "unsupported channel type")
}

// remoteForward is the payload of tcpip-forward (RFC 4254 section 7.1).
type remoteForward struct {
	Addr string
	Port uint32
}

// auditRefusal writes a connection-level refusal. The refusal stands
// whether or not it was recorded; a failed write is logged by audit.
func (s *Server) auditRefusal(c *connState, typ, reason string, detail map[string]any) {
	ev := store.Event{Type: typ, Outcome: store.OutcomeDenied, Reason: reason, Detail: detail}
	ctx := gliderssh.Context(nil)
	if c != nil {
		ev.ConnID, ev.SourceAddr, ev.Identity, ctx = c.id, c.source, c.identity, c.ctx
	}
	if ctx == nil {
		s.log.Error("refusal on a connection without state", "type", typ)
		return
	}
	if err := s.audit(ctx, ev); err != nil {
		s.log.Error("refusal not audited", "type", typ, "err", err)
	}
}
