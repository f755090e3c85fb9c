package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/masking"
	"github.com/bastion-ssh/bastion/policies"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// A session channel's life, one file per stage:
//
//	session.go    the channel is accepted; requests before the start are kept
//	admission.go  one policy snapshot decides; recording, row and start event
//	              exist before anything reaches the target
//	proxy.go      the target's session runs under the session's context,
//	              every goroutine owned and waited for
//	finish.go     one path turns why it ended into exit status, message and
//	              audit event; the recording is closed and the row ended
//
// Whatever ends a session from the bastion's side (revocation, expiry,
// shutdown, a failed recording or audit write) calls end with an endCause.

// session is one "session" channel: a shell, an exec or an sftp subsystem.
//
// The client request loop (run) owns every field until the session starts;
// after that the proxy goroutines read rec, ch and up, and the fields
// under mu are shared.
type session struct {
	s   *Server
	cs  *connState
	id  string
	ch  ssh.Channel
	log *slog.Logger
	// ctx is cancelled, with an endCause, when the session is ended from
	// the bastion's side, and when the client connection closes.
	ctx    context.Context
	cancel context.CancelCauseFunc

	// certErr is what the certificate check found when the channel opened.
	certErr error
	// policy is the snapshot taken when the channel opened: routing, env,
	// agent forwarding, masking and file rules are all decided by it.
	policy *policies.Policy

	route route
	pty   *ptyRequest
	env   [][]byte // env request payloads the policy allowed, replayed upstream
	// bastionEnv holds the BASTION_* variables, kept by the bastion and
	// never sent upstream (commandenv.go).
	bastionEnv map[string]string
	// markers are the command decisions to write into the recording
	// first; notice is then shown to the client (commandwait.go).
	markers []string
	notice  string
	agent   bool       // agent forwarding allowed by policy, requested upstream
	keys    keystrokes // typed on a terminal, for telling echo from output
	kind    recorder.Kind
	cmd     string // as the client sent it; goes to the target only
	// shownCmd is cmd masked: what recordings, rows and audit events hold.
	shownCmd string
	masker   *masking.Masker
	files    *policies.Files // file rules for sftp; nil means pass-through
	sguard   *shellGuard     // a guarded shell's hook protocol (shellguard.go); nil otherwise
	sftp     *sftpTracker    // pass-through sftp: handles and transfers
	sftpOnce sync.Once

	rec     Recording
	recPath string
	up      ssh.Channel
	done    chan struct{} // closed when the proxy has fully ended
	// clientClosed is closed once the client has closed its side of the
	// channel, which it does only after reading everything sent before
	// our close (the exit status among it).
	clientClosed chan struct{}

	mu         sync.Mutex // guards the fields below
	exitStatus *int
	exitSignal string
	ended      bool           // the bastion ended the session itself (exit already sent)
	endReason  string         // why, for the session row and audit
	masked     map[string]int // values masked, by recognizer
}

func (s *Server) handleSession(_ *gliderssh.Server, conn *ssh.ServerConn, nc ssh.NewChannel, ctx gliderssh.Context) {
	s.sessions.Add(1)
	defer s.sessions.Done()
	cs := connStateOf(ctx)
	if cs == nil || cs.cert == nil {
		nc.Reject(ssh.Prohibited, "no verified certificate")
		return
	}
	cs.bind(conn)
	cs.openChannel()
	defer s.channelClosed(cs)
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	ss := &session{s: s, cs: cs, id: cs.nextSessionID(), ch: ch, policy: s.cfg.Policy.Current(),
		clientClosed: make(chan struct{})}
	ss.ctx, ss.cancel = context.WithCancelCause(ctx)
	defer ss.cancel(nil)
	ss.log = s.log.With("session", ss.id, "source", cs.source, "identity", cs.identity)
	// Each channel re-checks the certificate: a connection opened before a
	// revocation or expiry runs nothing after it, nor anything new while the
	// bastion drains. The refusal is answered
	// at the start request, so the client reads why and gets its status.
	ss.certErr = s.channelProblem(cs)
	ss.run(reqs)
}

// run handles the client's channel requests until the channel closes, then
// finishes the session: the one place the session's end is written.
func (ss *session) run(reqs <-chan *ssh.Request) {
	for req := range reqs {
		switch {
		case ss.up != nil:
			ss.forwardClientRequest(req)
		case ss.finished():
			reply(req, false)
		default:
			ss.beforeStart(req)
		}
	}
	close(ss.clientClosed)
	// The client closed its channel: end the upstream side too, then wait
	// for the proxy to drain before writing the session's end.
	if ss.up != nil {
		ss.up.Close()
		<-ss.done
		ss.cs.removeLive(ss)
	}
	if ss.rec != nil {
		ss.finish()
	}
}

// beforeStart handles requests that precede shell, exec or subsystem. Only
// once the session is allowed and its recording exists does anything reach
// the target, so pty and env requests are kept and replayed upstream.
// Every refusal is audited.
func (ss *session) beforeStart(req *ssh.Request) {
	switch req.Type {
	case "pty-req":
		p, err := parsePayload[ptyRequest](req.Payload)
		if err != nil {
			ss.refuseRequest(req, "session.pty", "malformed pty request", nil)
			return
		}
		if !permitsOf(ss.cs.cert).pty {
			// sshd refuses a pty to a certificate without permit-pty; the
			// client carries on without one.
			ss.refuseRequest(req, "session.pty", "the certificate does not permit a pty (permit-pty)", nil)
			return
		}
		ss.pty = &p
		reply(req, true)
	case "env":
		e, err := parsePayload[envRequest](req.Payload)
		if err != nil {
			ss.refuseRequest(req, "session.env", "malformed env request", nil)
			return
		}
		if ss.keepBastionEnv(e) {
			reply(req, true)
			return
		}
		if ss.judgesCommands() && policies.EnvChangesCommand(e.Name) {
			// The judge reads the command line, not the environment: a
			// PATH or LD_PRELOAD would run something else than it approved.
			ss.refuseRequest(req, "session.env", "environment variable can change what a judged command runs; refused",
				map[string]any{"name": printable(e.Name)})
			return
		}
		if !ss.policy.EnvAllowed(e.Name) {
			// The name only: a value can carry anything, PHI included.
			ss.refuseRequest(req, "session.env", "environment variable not allowed by policy",
				map[string]any{"name": printable(e.Name)})
			return
		}
		ss.env = append(ss.env, req.Payload)
		reply(req, true)
	case "window-change":
		if w, err := parsePayload[windowChange](req.Payload); err == nil && ss.pty != nil {
			ss.pty.Cols, ss.pty.Rows = w.Cols, w.Rows
		}
	case "shell", "exec", "subsystem":
		ss.start(req)
	case "auth-agent-req@openssh.com":
		ss.requestAgent(req)
	case "x11-req":
		// Forwarding the client's X display to a PHI host would hand the
		// target a path back into the client's desktop: refused, whatever
		// the certificate's permit-X11-forwarding says.
		ss.refuseRequest(req, "session.forwarding", "x11 forwarding is not supported", nil)
	default:
		ss.refuseRequest(req, "session.request", "unsupported request before the session started: "+printable(req.Type), nil)
	}
}

// refuseRequest refuses a channel request that does not end the session
// (pty, env, x11, agent): audited, then answered. The refusal stands
// whether or not its record could be written; a failed write is logged by
// audit and the session goes on without what was refused.
func (ss *session) refuseRequest(req *ssh.Request, typ, reason string, detail map[string]any) {
	ev := ss.event(typ, store.OutcomeDenied, reason)
	for k, v := range detail {
		ev.Detail[k] = v
	}
	if err := ss.s.audit(ss.ctx, ev); err != nil {
		ss.log.Error("refusal not audited", "type", typ, "err", err)
	}
	reply(req, false)
}

func (ss *session) finished() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.ended
}

func (ss *session) newline() string {
	if ss.pty != nil {
		return "\r\n" // the client's terminal is in raw mode
	}
	return "\n"
}

func (ss *session) row() store.Session {
	return store.Session{
		ID: ss.id, ConnID: ss.cs.id, Identity: ss.cs.identity, SourceAddr: ss.cs.source,
		Target: ss.route.target.Name, Login: ss.route.login, Kind: string(ss.kind), Command: ss.shownCmd,
		StartedAt: ss.s.now(), Recording: ss.recPath, Node: ss.s.cfg.Node,
	}
}

func (ss *session) event(typ, outcome, reason string) store.Event {
	return store.Event{
		Type: typ, Outcome: outcome, Reason: reason,
		SessionID: ss.id, ConnID: ss.cs.id, SourceAddr: ss.cs.source,
		Identity: ss.cs.identity, Target: ss.route.target.Name, Login: ss.route.login,
		Detail: map[string]any{"kind": string(ss.kind), "command": ss.shownCmd},
	}
}

func reply(req *ssh.Request, ok bool) {
	if req.WantReply {
		// A failed reply means the client is gone; its channel closes.
		_ = req.Reply(ok, nil)
	}
}

// auditFindings writes one masking audit record for the values masked in a
// chunk of output (or in the command line): recognizer, position and keyed
// fingerprint of each, never the value.
func (ss *session) auditFindings(stream string, findings []masking.Finding, pos recorder.Position) error {
	if len(findings) == 0 {
		return nil
	}
	list := make([]map[string]any, len(findings))
	ss.mu.Lock()
	if ss.masked == nil {
		ss.masked = map[string]int{}
	}
	for i, f := range findings {
		ss.masked[f.Recognizer]++
		list[i] = map[string]any{"recognizer": f.Recognizer, "offset": f.Offset, "length": f.Length, "fingerprint": f.Fingerprint}
	}
	ss.mu.Unlock()
	ev := ss.event("masking.applied", store.OutcomeInfo, fmt.Sprintf("%d values masked in %s", len(findings), stream))
	ev.Detail["stream"] = stream
	ev.Detail["findings"] = list
	if stream != "command" {
		recEvent, recTime := pos.Event, pos.Elapsed.Seconds()
		ev.RecEvent, ev.RecTime = &recEvent, &recTime
	}
	return ss.s.audit(ss.ctx, ev)
}

// keystrokes is what the client typed, for the output pipes, on a terminal only.
func (ss *session) keystrokes() *keystrokes {
	if ss.pty == nil {
		return nil
	}
	return &ss.keys
}
