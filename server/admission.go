package server

import (
	"fmt"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// start admits the session, then hands it to the proxy. Admission decides
// everything from the policy snapshot the channel took when it opened, and
// creates the recording, the session row and the start event before
// anything reaches the target. A refusal ends the session through end.
func (ss *session) start(req *ssh.Request) {
	// The desk is no exception to the certificate check: a reviewer
	// revoked since the connection opened decides nothing (admit refuses).
	if ss.cs.user == ApprovalsUser && ss.certErr == nil {
		ss.serveDesk(req) // approvalsuser.go: the bastion answers, no target
		return
	}
	if ref := ss.admit(req); ref != nil {
		reply(req, true)
		ss.end(*ref)
		if ref.code == ExitCertificateRevoked || ref.code == ExitCertificateExpired {
			// The connection goes with it: a ControlMaster closes.
			ss.s.endConn(ss.cs, ref.err)
		}
		return
	}
	ss.proxy(req)
}

// admit runs the admission steps in order and returns the first refusal.
func (ss *session) admit(req *ssh.Request) *endCause {
	if ss.certErr != nil {
		ref := endCauseFor(ss.certErr, false)
		return &ref
	}
	if ref := ss.parseStart(req); ref != nil {
		return ref
	}
	rt, ref := ss.s.route(ss.cs, ss.cs.user, ss.policy)
	ss.route = rt
	if ref != nil {
		return ref
	}
	ss.log = ss.log.With("target", rt.target.Name, "login", rt.login)
	masker, err := ss.s.maskerFor(ss.policy)
	if err != nil {
		return &endCause{code: ExitInternal, event: "session.failed", msg: "masking unavailable; session refused", err: err}
	}
	ss.masker = masker
	if ss.kind == recorder.KindSFTP && ss.policy != nil && ss.policy.Files.Enabled() {
		ss.files = &ss.policy.Files
	}
	shown, findings := masker.MaskString(ss.cmd)
	ss.shownCmd = shown
	if ref := ss.judgeCommand(); ref != nil {
		return ref
	}
	if ref := ss.guardShell(); ref != nil { // shellguard.go
		return ref
	}
	if err := ss.openRecording(); err != nil {
		return &endCause{code: ExitRecordingFailed, event: "recording.failed",
			msg: "session recording unavailable; session refused", err: err}
	}
	if err := ss.writeMarkers(); err != nil {
		return &endCause{code: ExitRecordingFailed, event: "recording.failed",
			msg: "session recording unavailable; session refused", err: err}
	}
	storeDown := func(err error) *endCause {
		return &endCause{code: ExitInternal, event: "session.failed", msg: "audit store unavailable; session refused", err: err}
	}
	if err := ss.s.cfg.Store.CreateSession(ss.ctx, ss.row()); err != nil {
		return storeDown(err)
	}
	if err := ss.auditFindings("command", findings, recorder.Position{}); err != nil {
		return storeDown(err)
	}
	if err := ss.s.audit(ss.ctx, ss.event("session.start", store.OutcomeAllowed, "rule "+rt.decision.Rule)); err != nil {
		return storeDown(err)
	}
	return nil
}

// parseStart reads what the session is to run.
func (ss *session) parseStart(req *ssh.Request) *endCause {
	bad := &endCause{code: ExitUnsupported, event: "session.denied", msg: "malformed " + req.Type + " request",
		err: errShortPayload}
	switch req.Type {
	case "shell":
		ss.kind = recorder.KindShell
	case "exec":
		e, err := parsePayload[execRequest](req.Payload)
		if err != nil {
			return bad
		}
		ss.kind, ss.cmd = recorder.KindExec, e.Command
		if isSFTP, plain := sftpExec(e.Command); isSFTP {
			if !plain {
				return &endCause{code: ExitUnsupported, event: "session.denied",
					msg: "an sftp server runs only as the command itself, with plain arguments (sftp -s PATH); refused"}
			}
			// Served as the subsystem (sftpexec.go): same rules, same audit.
			asSFTPSubsystem(req)
			ss.kind, ss.cmd = recorder.KindSFTP, "sftp"
		}
	case "subsystem":
		sub, err := parsePayload[subsystemRequest](req.Payload)
		if err != nil {
			return bad
		}
		if isSFTP, plain := sftpExec(sub.Name); isSFTP && plain {
			// `sftp -s internal-sftp` names the server as a subsystem.
			asSFTPSubsystem(req)
			sub.Name = "sftp"
		}
		if sub.Name != "sftp" {
			return &endCause{code: ExitUnsupported, event: "session.denied",
				msg: fmt.Sprintf("subsystem %q is not supported", printable(sub.Name))}
		}
		ss.kind, ss.cmd = recorder.KindSFTP, "sftp"
	}
	return nil
}

// judgeCommand is the admission step for command rules: an exec command
// goes to Config.Commands, which may hold it for review. Without a judge
// every command the access rule admits is allowed.
func (ss *session) judgeCommand() *endCause {
	judge := ss.s.cfg.Commands
	if judge == nil || ss.kind != recorder.KindExec {
		return nil
	}
	v, err := ss.runJudge(ss.ctx, judge, ss.commandRequest())
	switch {
	case err != nil:
		return &endCause{code: ExitCommandDenied, event: "command.denied", msg: "the command could not be judged; denied", err: err}
	case !v.Allowed:
		c := &endCause{code: ExitCommandDenied, event: "command.denied", msg: "command denied: " + printable(v.Reason),
			err: fmt.Errorf("rule %s: %s", v.Rule, v.Reason)}
		if v.Message != "" {
			c.msg = oneLine(v.Message)
		}
		if v.Code != 0 {
			c.code = v.Code
		}
		if v.Event != "" {
			c.event = v.Event
		}
		return c
	}
	// A hold can outlast the certificate: approved or not, nothing runs
	// for a requester revoked or expired meanwhile, sweep or no sweep.
	if err := ss.s.certProblem(ss.cs); err != nil {
		ref := endCauseFor(err, false)
		return &ref
	}
	ss.markers, ss.notice = v.Markers, v.Notice
	return nil
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
			Node:      ss.s.cfg.Node,
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
