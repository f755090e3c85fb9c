package server

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sync/errgroup"

	"github.com/bastion-ssh/bastion/masking"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// proxy opens the target's side of an admitted session, sends it the start
// request, and runs the session's goroutines until the target's side ends.
func (ss *session) proxy(req *ssh.Request) {
	up, upReqs, err := ss.openUpstream()
	if err != nil {
		reply(req, true)
		ss.end(upstreamRefusal(err))
		return
	}
	typ, payload := ss.startRequest(req) // shellguard.go: a guarded shell starts bash with the hook
	ok, err := up.SendRequest(typ, true, payload)
	if err != nil || !ok {
		up.Close()
		reply(req, true)
		ss.end(endCause{code: ExitUnsupported, event: "session.failed",
			msg: "the target refused the " + req.Type + " request", err: err})
		return
	}
	reply(req, true)
	ss.up, ss.done = up, make(chan struct{})
	if err := ss.cs.addLive(ss); err != nil {
		// The connection ended (revoked, expired, shut down) meanwhile.
		close(ss.done)
		ss.end(endCauseFor(err, true))
		return
	}
	// Owned by run, which waits for done before finishing the session.
	if ss.files != nil {
		go ss.gateSFTP(ss.files, upReqs) // sftpgate.go: file rules need the protocol terminated
		return
	}
	go ss.pump(upReqs)
}

// openUpstream opens a session channel on the connection's upstream
// client and replays the pty and env requests the client made.
func (ss *session) openUpstream() (ssh.Channel, <-chan *ssh.Request, error) {
	rt := ss.route
	for attempt := 0; ; attempt++ {
		cl, fresh, err := ss.cs.dial(ss.ctx, ss.s.cfg.Upstream, DialRequest{
			Target: rt.target, Login: rt.login, Identity: rt.identity, SessionID: ss.cs.id,
		})
		if err != nil {
			return nil, nil, err
		}
		if fresh {
			if err := ss.s.audit(ss.ctx, ss.event("upstream.connect", store.OutcomeAllowed, "authenticated to "+rt.target.Address)); err != nil {
				ss.cs.dropUpstream(cl)
				return nil, nil, &endCause{code: ExitInternal, event: "session.failed",
					msg: "audit store unavailable; session refused", err: err}
			}
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
			if _, err := up.SendRequest("env", false, env); err != nil {
				up.Close()
				return nil, nil, fmt.Errorf("%w: env: %v", ErrTargetUnreachable, err)
			}
		}
		if ss.agent {
			if ok, err := up.SendRequest("auth-agent-req@openssh.com", true, nil); err != nil || !ok {
				ss.log.Info("target refused agent forwarding")
			}
		}
		return up, upReqs, nil
	}
}

// pump moves data between the channels until the target's side ends. Its
// goroutines are all owned: it returns only when each has.
func (ss *session) pump(upReqs <-chan *ssh.Request) {
	defer close(ss.done)
	// A failed output stream ends the session at once, so the other
	// stream's reader is released by the closed channels.
	fail := func(err error) {
		var recErr *errRecording
		if errors.As(err, &recErr) {
			ss.end(endCause{code: ExitRecordingFailed, event: "recording.failed",
				msg: "session recording failed; session terminated", err: recErr.err})
			return
		}
		var protoErr *errSFTPProtocol
		if errors.As(err, &protoErr) {
			ss.endSFTP(err)
			return
		}
		// The client went away mid-write: nothing left to deliver to.
		ss.up.Close()
	}
	// stdout and stderr end on the same terminal: one model and one order.
	term := newClientTerminal(ss.masker, ss.pty)
	textPipe := func(stream string, dst io.Writer) *outputPipe {
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
	stdout := textPipe("stdout", ss.ch)
	if ss.kind == recorder.KindSFTP {
		// Binary protocol: file operations are recorded instead, and the
		// stream must be SFTP from its first byte (sftp.go).
		stdout = &outputPipe{dst: ss.sftpReplies(ss.ch)}
	}
	var outputs, rest errgroup.Group
	outputs.Go(func() error {
		if err := copyOutput(stdout, ss.stdoutSource()); err != nil {
			fail(err)
		}
		return nil
	})
	outputs.Go(func() error {
		// stderr is text even for sftp: what the target's server (or
		// anything posing as it) says there is recorded and masked.
		if err := copyOutput(textPipe("stderr", ss.ch.Stderr()), ss.up.Stderr()); err != nil {
			fail(err)
		}
		return nil
	})
	rest.Go(func() error { ss.copyInput(); return nil })
	reqsDone := make(chan struct{})
	rest.Go(func() error {
		defer close(reqsDone)
		for r := range upReqs {
			ss.forwardUpstreamRequest(r)
		}
		return nil
	})

	_ = outputs.Wait() // the goroutines report through fail, not errors
	// The exit status goes before the EOF: a client whose input has ended
	// answers our EOF with its close, x/crypto/ssh answers that close at
	// once, and an exit status sent after it is lost (an OpenSSH mux client
	// then exits 255).
	<-reqsDone
	_ = ss.ch.CloseWrite()
	_ = ss.ch.Close() // releases copyInput's read
	_ = rest.Wait()
	if ss.sftp != nil {
		if err := ss.sftp.flush(); err != nil {
			ss.endSFTP(err)
		}
	}
}

// copyInput carries the client's input to the target; for sftp, each
// packet is parsed and each file operation audited and recorded before the
// packet is forwarded. Its read buffer grows once a read fills it (see
// growBuffer).
func (ss *session) copyInput() {
	var sftpIn *sftpRequests
	var inMask *masking.Stream // input recording, when configured
	if ss.kind == recorder.KindSFTP {
		sftpIn = ss.sftpRequests()
	} else if ss.s.cfg.RecordInput {
		inMask = ss.masker.NewStream()
	}
	recordInput := func(p []byte) bool {
		if err := ss.rec.Input(p); err != nil {
			ss.end(endCause{code: ExitRecordingFailed, event: "recording.failed",
				msg: "session recording failed; session terminated", err: err})
			return false
		}
		return true
	}
	// note takes input on its way to the target; false ends the copy.
	note := func(p []byte) bool {
		if ss.pty != nil {
			// Noted before forwarding, so the echo cannot overtake it.
			ss.keys.add(p)
		}
		if sftpIn != nil {
			if ferr := sftpIn.feed(p); ferr != nil {
				ss.endSFTP(ferr)
				return false
			}
		}
		// Input is recorded masked, and before it reaches the target.
		return inMask == nil || recordInput(inMask.Write(p))
	}
	buf := make([]byte, copyBufferStart)
	for {
		n, err := ss.ch.Read(buf)
		if n > 0 && ss.sguard != nil {
			// shellguard_input.go: forwarded, kept behind a verdict, or dropped under review
			if !ss.sguard.input(buf[:n], note) {
				return
			}
		} else if n > 0 {
			if !note(buf[:n]) {
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
			_ = ss.up.CloseWrite() // the target's side may be gone already
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
				ss.end(endCause{code: ExitRecordingFailed, event: "recording.failed",
					msg: "session recording failed; session terminated", err: err})
				return
			}
		}
	case "shell", "exec", "subsystem", "pty-req", "env", "auth-agent-req@openssh.com", "x11-req":
		// One program per channel; late forwarding requests are refused.
		ss.refuseRequest(req, "session.request", "request after the session started: "+printable(req.Type), nil)
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
	switch {
	case ss.ended:
		// The bastion's exit status stands.
	case r.Type == "exit-status":
		if e, err := parsePayload[exitStatus](r.Payload); err == nil {
			v := int(e.Status)
			ss.exitStatus = &v
		}
	case r.Type == "exit-signal":
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
