package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/masking"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// session is one "session" channel: a shell, an exec or an sftp subsystem.
//
// The client request loop (run) owns every field until the session starts;
// after that the output goroutines read rec, ch and up, and the fields
// under mu are shared.
type session struct {
	s   *Server
	cs  *connState
	id  string
	ch  ssh.Channel
	log *slog.Logger

	route route
	pty   *ptyRequest
	env   [][]byte   // env request payloads the policy allowed, replayed upstream
	agent bool       // agent forwarding allowed by policy, requested upstream
	keys  keystrokes // typed on a terminal, for telling echo from output
	kind  recorder.Kind
	cmd   string // as the client sent it; goes to the target only
	// shownCmd is cmd masked: what recordings, rows and audit events hold.
	shownCmd string
	masker   *masking.Masker

	rec     Recording
	recPath string
	up      ssh.Channel
	done    chan struct{} // closed when the upstream side has fully ended

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
	cs := s.conn(ctx, conn)
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	ss := &session{s: s, cs: cs, id: cs.nextSessionID(), ch: ch}
	ss.log = s.log.With("session", ss.id, "source", cs.source)
	ss.run(ctx, reqs)
}

// run handles the client's channel requests until the channel closes.
func (ss *session) run(ctx context.Context, reqs <-chan *ssh.Request) {
	for req := range reqs {
		switch {
		case ss.up != nil:
			ss.forwardClientRequest(req)
		case ss.finished():
			reply(req, false)
		default:
			ss.beforeStart(ctx, req)
		}
	}
	// The client closed its channel: end the upstream side too, then wait
	// for the output to drain before writing the session's end.
	if ss.up != nil {
		ss.up.Close()
		<-ss.done
		ss.cs.removeLive(ss)
		ss.finish()
	}
}

// beforeStart handles requests that precede shell, exec or subsystem. Only
// once the session is allowed and its recording exists does anything reach
// the target, so pty and env requests are kept and replayed upstream.
func (ss *session) beforeStart(ctx context.Context, req *ssh.Request) {
	switch req.Type {
	case "pty-req":
		p, err := parsePayload[ptyRequest](req.Payload)
		if err != nil {
			reply(req, false)
			return
		}
		ss.pty = &p
		reply(req, true)
	case "env":
		e, err := parsePayload[envRequest](req.Payload)
		if err != nil || !ss.s.cfg.Policy.Current().EnvAllowed(e.Name) {
			reply(req, false)
			return
		}
		ss.env = append(ss.env, req.Payload)
		reply(req, true)
	case "window-change":
		if w, err := parsePayload[windowChange](req.Payload); err == nil && ss.pty != nil {
			ss.pty.Cols, ss.pty.Rows = w.Cols, w.Rows
		}
	case "shell", "exec", "subsystem":
		ss.start(ctx, req)
	case "auth-agent-req@openssh.com":
		ss.requestAgent(ctx, req)
	case "x11-req":
		// Forwarding the client's X display to a PHI host would hand the
		// target a path back into the client's desktop: refused.
		_ = ss.s.audit(ctx, store.Event{Type: "session.forwarding", Outcome: store.OutcomeDenied,
			ConnID: ss.cs.id, SessionID: ss.id, SourceAddr: ss.cs.source, Reason: "x11 forwarding is not supported"})
		reply(req, false)
	default:
		reply(req, false)
	}
}

// start decides, records and opens the session, in that order.
func (ss *session) start(ctx context.Context, req *ssh.Request) {
	switch req.Type {
	case "shell":
		ss.kind = recorder.KindShell
	case "exec":
		e, err := parsePayload[execRequest](req.Payload)
		if err != nil {
			reply(req, false)
			return
		}
		ss.kind, ss.cmd = recorder.KindExec, e.Command
	case "subsystem":
		sub, err := parsePayload[subsystemRequest](req.Payload)
		if err != nil {
			reply(req, false)
			return
		}
		if sub.Name != "sftp" {
			ss.refuse(ctx, req, refusal{code: ExitUnsupported, event: "session.denied",
				msg: fmt.Sprintf("subsystem %q is not supported", printable(sub.Name))})
			return
		}
		ss.kind, ss.cmd = recorder.KindSFTP, "sftp"
	}

	rt, ref := ss.s.route(ss.cs.conn)
	ss.route = rt
	if ref != nil {
		ss.refuse(ctx, req, *ref)
		return
	}
	ss.log = ss.log.With("identity", rt.identity, "target", rt.target.Name, "login", rt.login)
	masker, err := ss.s.maskerFor(ss.s.cfg.Policy.Current())
	if err != nil {
		ss.refuse(ctx, req, refusal{code: ExitInternal, event: "session.failed", msg: "masking unavailable; session refused", cause: err})
		return
	}
	ss.masker = masker
	shown, findings := masker.MaskString(ss.cmd)
	ss.shownCmd = shown

	if err := ss.openRecording(); err != nil {
		ss.refuse(ctx, req, refusal{code: ExitRecordingFailed, event: "recording.failed",
			msg: "session recording unavailable; session refused", cause: err})
		return
	}
	if err := ss.s.cfg.Store.CreateSession(ctx, ss.row()); err != nil {
		ss.refuse(ctx, req, refusal{code: ExitInternal, event: "session.failed",
			msg: "audit store unavailable; session refused", cause: err})
		return
	}
	if err := ss.auditFindings("command", findings, recorder.Position{}); err != nil {
		ss.refuse(ctx, req, refusal{code: ExitInternal, event: "session.failed",
			msg: "audit store unavailable; session refused", cause: err})
		return
	}
	if err := ss.s.audit(ctx, ss.event("session.start", store.OutcomeAllowed, "rule "+rt.decision.Rule)); err != nil {
		ss.refuse(ctx, req, refusal{code: ExitInternal, event: "session.failed",
			msg: "audit store unavailable; session refused", cause: err})
		return
	}

	up, upReqs, err := ss.openUpstream(ctx)
	if err != nil {
		ss.refuse(ctx, req, upstreamRefusal(err))
		return
	}
	ok, err := up.SendRequest(req.Type, true, req.Payload)
	if err != nil || !ok {
		up.Close()
		ss.refuse(ctx, req, refusal{code: ExitUnsupported, event: "session.failed",
			msg: "the target refused the " + req.Type + " request", cause: err})
		return
	}
	reply(req, true)
	ss.up = up
	ss.done = make(chan struct{})
	ss.cs.addLive(ss)
	if files := ss.fileRules(); files != nil {
		go ss.gateSFTP(files, upReqs) // sftpgate.go: file rules need the protocol terminated
		return
	}
	go ss.pump(upReqs)
}

// openUpstream opens a session channel on the connection's upstream
// client and replays the pty and env requests the client made.
func (ss *session) openUpstream(ctx context.Context) (ssh.Channel, <-chan *ssh.Request, error) {
	rt := ss.route
	for attempt := 0; ; attempt++ {
		cl, fresh, err := ss.cs.dial(ctx, ss.s.cfg.Upstream, DialRequest{
			Target: rt.target, Login: rt.login, Identity: rt.identity, SessionID: ss.cs.id,
		})
		if err != nil {
			return nil, nil, err
		}
		if fresh {
			_ = ss.s.audit(ctx, ss.event("upstream.connect", store.OutcomeAllowed, "authenticated to "+rt.target.Address))
			ss.s.relayAgentChannels(ss.cs, cl)
		}
		up, upReqs, err := cl.OpenChannel("session", nil)
		if err != nil {
			// A dropped upstream connection is redialled once.
			ss.cs.dropUpstream(cl)
			if attempt == 0 && !fresh {
				continue
			}
			return nil, nil, fmt.Errorf("%w: open session: %v", ErrTargetUnreachable, err)
		}
		if ss.pty != nil {
			if ok, err := up.SendRequest("pty-req", true, ssh.Marshal(ss.pty)); err != nil || !ok {
				up.Close()
				return nil, nil, fmt.Errorf("%w: pty refused", ErrUpstreamAuth)
			}
		}
		for _, env := range ss.env {
			_, _ = up.SendRequest("env", false, env)
		}
		if ss.agent {
			if ok, err := up.SendRequest("auth-agent-req@openssh.com", true, nil); err != nil || !ok {
				ss.log.Info("target refused agent forwarding")
			}
		}
		return up, upReqs, nil
	}
}

func (ss *session) openRecording() error {
	h := recorder.Header{
		Timestamp: ss.s.now(),
		Command:   ss.shownCmd,
		Session: recorder.Meta{
			SessionID: ss.id,
			Identity:  ss.route.identity,
			Groups:    ss.route.groups,
			Source:    ss.cs.source,
			Target:    ss.route.target.Name,
			Login:     ss.route.login,
			Kind:      ss.kind,
		},
	}
	if ss.pty != nil {
		h.Width, h.Height = int(ss.pty.Cols), int(ss.pty.Rows)
		h.Env = map[string]string{"TERM": ss.pty.Term}
	}
	rec, path, err := ss.s.cfg.Recordings(h)
	if err != nil {
		return err
	}
	ss.rec, ss.recPath = rec, path
	return nil
}

// pump moves data between the channels until the upstream side ends.
func (ss *session) pump(upReqs <-chan *ssh.Request) {
	defer close(ss.done)
	var wg sync.WaitGroup
	// A failed output stream ends the session at once, so the other
	// stream's reader is released by the closed channels.
	fail := func(err error) {
		var recErr *errRecording
		if errors.As(err, &recErr) {
			ss.terminate(ExitRecordingFailed, "session recording failed; session terminated", "recording.failed", recErr.err)
			return
		}
		// The client went away mid-write: nothing left to deliver to.
		ss.up.Close()
	}
	// stdout and stderr end on the same terminal: one model and one order.
	term := newClientTerminal(ss.masker, ss.pty)
	newPipe := func(stream string, dst io.Writer) *outputPipe {
		if ss.kind == recorder.KindSFTP {
			// Binary protocol: file operations are recorded instead.
			return &outputPipe{dst: dst}
		}
		return &outputPipe{
			rec: ss.rec, dst: dst,
			mask: ss.masker.NewPaced(), term: term,
			onFindings: func(f []masking.Finding, pos recorder.Position) error {
				return ss.auditFindings(stream, f, pos)
			},
			onIdleError: fail,
			keys:        ss.keystrokes(),
		}
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := copyOutput(newPipe("stdout", ss.ch), ss.up); err != nil {
			fail(err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := copyOutput(newPipe("stderr", ss.ch.Stderr()), ss.up.Stderr()); err != nil {
			fail(err)
		}
	}()
	go ss.copyInput()

	reqsDone := make(chan struct{})
	go func() {
		defer close(reqsDone)
		for r := range upReqs {
			ss.forwardUpstreamRequest(r)
		}
	}()

	wg.Wait()
	ss.ch.CloseWrite()
	<-reqsDone
	ss.ch.Close()
}

// copyInput carries the client's input to the target; for sftp, each file
// operation is audited and recorded before the packet is forwarded. Its
// read buffer grows once a read fills it (see growBuffer).
func (ss *session) copyInput() {
	var sniff *sftpSniffer
	var inMask *masking.Stream // input recording, when configured
	if ss.kind == recorder.KindSFTP {
		sniff = &sftpSniffer{}
	} else if ss.s.cfg.RecordInput {
		inMask = ss.masker.NewStream()
	}
	recordInput := func(p []byte) bool {
		if err := ss.rec.Input(p); err != nil {
			ss.terminate(ExitRecordingFailed, "session recording failed; session terminated", "recording.failed", err)
			return false
		}
		return true
	}
	buf := make([]byte, copyBufferStart)
	for {
		n, err := ss.ch.Read(buf)
		if n > 0 && ss.pty != nil {
			// Noted before forwarding, so the echo cannot overtake it.
			ss.keys.add(buf[:n])
		}
		if n > 0 {
			if sniff != nil {
				if ferr := ss.auditSFTP(sniff.feed(buf[:n])); ferr != nil {
					ss.terminate(ExitRecordingFailed, "file operation could not be recorded; session terminated", "recording.failed", ferr)
					return
				}
				if sniff.err != nil {
					ss.terminate(ExitUnsupported, "malformed sftp stream; session terminated", "sftp.malformed", sniff.err)
					return
				}
			}
			// Input is recorded masked, and before it reaches the target.
			if inMask != nil && !recordInput(inMask.Write(buf[:n])) {
				return
			}
			if _, werr := ss.up.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if inMask != nil {
				recordInput(inMask.Flush())
			}
			ss.up.CloseWrite()
			return
		}
		buf = growBuffer(buf, n)
	}
}

func (ss *session) forwardClientRequest(req *ssh.Request) {
	switch req.Type {
	case "window-change":
		if w, err := parsePayload[windowChange](req.Payload); err == nil {
			if err := ss.rec.Resize(int(w.Cols), int(w.Rows)); err != nil {
				ss.terminate(ExitRecordingFailed, "session recording failed; session terminated", "recording.failed", err)
				return
			}
		}
	case "shell", "exec", "subsystem", "pty-req", "env", "auth-agent-req@openssh.com", "x11-req":
		// One program per channel; forwarding requests are refused.
		reply(req, false)
		return
	}
	ok, err := ss.up.SendRequest(req.Type, req.WantReply, req.Payload)
	if err != nil {
		ok = false
	}
	reply(req, ok)
}

func (ss *session) forwardUpstreamRequest(r *ssh.Request) {
	ss.mu.Lock()
	switch r.Type {
	case "exit-status":
		if e, err := parsePayload[exitStatus](r.Payload); err == nil {
			v := int(e.Status)
			ss.exitStatus = &v
		}
	case "exit-signal":
		if e, err := parsePayload[exitSignal](r.Payload); err == nil {
			ss.exitSignal = e.Signal
		}
	}
	ended := ss.ended
	ss.mu.Unlock()
	if ended {
		// The bastion already told the client how the session ended.
		reply(r, false)
		return
	}
	ok, err := ss.ch.SendRequest(r.Type, r.WantReply, r.Payload)
	reply(r, ok && err == nil)
}

// terminate ends a running session from the bastion's side: a message the
// client can read, a distinct exit status, an audit event, and the target
// side closed so nothing more runs unrecorded.
func (ss *session) terminate(code int, msg, event string, cause error) {
	ss.mu.Lock()
	if ss.ended {
		ss.mu.Unlock()
		return
	}
	ss.ended = true
	ss.endReason = event + ": " + cause.Error()
	v := code
	ss.exitStatus = &v
	ss.mu.Unlock()
	ss.log.Warn("session terminated", "reason", event, "err", cause)
	ev := ss.event(event, store.OutcomeError, cause.Error())
	_ = ss.s.audit(context.Background(), ev)
	fmt.Fprintf(ss.ch.Stderr(), "bastion: %s%s", msg, ss.newline())
	_, _ = ss.ch.SendRequest("exit-status", false, exitStatusPayload(code))
	ss.up.Close()
	ss.ch.Close()
}

// finish closes the recording and writes the session's end.
func (ss *session) finish() {
	ss.mu.Lock()
	exit := recorder.ExitInfo{Status: -1, Signal: ss.exitSignal}
	end := store.SessionEnd{At: ss.s.now(), ExitSignal: ss.exitSignal, Reason: ss.endReason}
	if ss.exitStatus != nil {
		exit.Status = *ss.exitStatus
		end.ExitStatus = ss.exitStatus
	}
	ss.mu.Unlock()
	ctx := context.Background() // the connection may be gone; the record must still be written
	detail := map[string]any{}
	manifest, err := ss.rec.Close(exit)
	if err != nil {
		_ = ss.s.audit(ctx, ss.event("recording.failed", store.OutcomeError, "close: "+err.Error()))
	} else {
		detail["chain_hash"] = manifest.Chain
		detail["events"] = manifest.Events
		if ss.s.cfg.SessionLog != nil {
			idx, err := ss.s.cfg.SessionLog.Append(recorder.LogRecord(manifest))
			if err != nil {
				_ = ss.s.audit(ctx, ss.event("recording.failed", store.OutcomeError, "session log: "+err.Error()))
			} else {
				detail["log_index"] = idx
			}
		}
	}
	end.RecordingSize = ss.rec.Bytes()
	if err := ss.s.cfg.Store.EndSession(ctx, ss.id, end); err != nil {
		ss.log.Error("session end not stored", "err", err)
	}
	ev := ss.event("session.end", store.OutcomeInfo, end.Reason)
	if end.ExitStatus != nil {
		detail["exit_status"] = *end.ExitStatus
	}
	if end.ExitSignal != "" {
		detail["exit_signal"] = end.ExitSignal
	}
	detail["recording_bytes"] = end.RecordingSize
	ss.mu.Lock()
	if len(ss.masked) > 0 {
		detail["masked"] = ss.masked
	}
	ss.mu.Unlock()
	ev.Detail = detail
	_ = ss.s.audit(ctx, ev)
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
		ID: ss.id, ConnID: ss.cs.id, Identity: ss.route.identity, SourceAddr: ss.cs.source,
		Target: ss.route.target.Name, Login: ss.route.login, Kind: string(ss.kind), Command: ss.shownCmd,
		StartedAt: ss.s.now(), Recording: ss.recPath,
	}
}

func (ss *session) event(typ, outcome, reason string) store.Event {
	return store.Event{
		Type: typ, Outcome: outcome, Reason: reason,
		SessionID: ss.id, ConnID: ss.cs.id, SourceAddr: ss.cs.source,
		Identity: ss.route.identity, Target: ss.route.target.Name, Login: ss.route.login,
		Detail: map[string]any{"kind": string(ss.kind), "command": ss.shownCmd},
	}
}

func reply(req *ssh.Request, ok bool) {
	if req.WantReply {
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
	return ss.s.audit(context.Background(), ev)
}

// keystrokes is what the client typed, for the output pipes, on a terminal only.
func (ss *session) keystrokes() *keystrokes {
	if ss.pty == nil {
		return nil
	}
	return &ss.keys
}
