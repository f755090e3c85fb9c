package server

import (
	"context"
	"fmt"

	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// endCause is why the bastion refused or ended a session: what the client
// reads, the exit status it gets, and the audit event written.
type endCause struct {
	code  int
	msg   string // shown to the client; never internal error text
	event string // audit event type
	err   error  // the cause, for the audit record
	// detail is added to the audit event (evidence of what was seen).
	detail map[string]any
}

func (c *endCause) Error() string {
	if c.err != nil {
		return c.event + ": " + c.err.Error()
	}
	return c.event + ": " + c.msg
}

func (c *endCause) Unwrap() error { return c.err }

// reason is the cause as the audit record holds it.
func (c endCause) reason() string {
	if c.err != nil {
		return c.err.Error()
	}
	return c.msg
}

// outcome classifies the end: a decision (denied) or a failure (error).
func (c endCause) outcome() string {
	switch c.code {
	case ExitInternal, ExitRecordingFailed, ExitTargetUnreachable, ExitProtocolViolation, ExitServerShutdown, ExitIdleTimeout:
		return store.OutcomeError
	}
	return store.OutcomeDenied
}

// end is the one way the bastion ends a session, before or after it
// started: the session's context is cancelled with the cause (its proxy
// goroutines stop), the audit event is written, the client reads the
// message and gets the exit status, and both channels close, so nothing
// more runs unrecorded. Only the first call acts. The recording and the
// row are closed by finish, when the request loop ends.
func (ss *session) end(c endCause) {
	ss.mu.Lock()
	if ss.ended {
		ss.mu.Unlock()
		return
	}
	ss.ended = true
	ss.endReason = c.event + ": " + c.reason()
	code := c.code
	ss.exitStatus = &code
	ss.mu.Unlock()
	ss.cancel(&c)

	ev := ss.event(c.event, c.outcome(), c.reason())
	ev.Detail["exit_status"] = c.code
	for k, v := range c.detail {
		ev.Detail[k] = v
	}
	if err := ss.s.audit(ss.ctx, ev); err != nil {
		// The session ends either way, which is the safe action; the
		// failure is logged by audit and shows as a missing event.
		ss.log.Error("session end not audited", "event", c.event, "err", err)
	}
	ss.log.Info("session ended by the bastion", "event", c.event, "cause", c.reason())
	if ss.rec != nil {
		if err := ss.rec.Marker("bastion: " + c.msg); err != nil {
			ss.log.Error("end marker not recorded", "err", err)
		}
	}
	// What follows goes to a client that may be gone: errors mean exactly
	// that, and the channel is closed in any case.
	fmt.Fprintf(ss.ch.Stderr(), "bastion: %s%s", c.msg, ss.newline())
	_, _ = ss.ch.SendRequest("exit-status", false, exitStatusPayload(c.code))
	if ss.up != nil {
		// The proxy may be ending the channel's write side itself, and
		// x/crypto/ssh's CloseWrite is not safe to call concurrently.
		ss.up.Close()
	} else {
		_ = ss.ch.CloseWrite()
	}
	_ = ss.ch.Close()
}

// finish closes the recording and writes the session's end: the row and
// the session.end event, with the exit status the target reported or the
// one end set.
func (ss *session) finish() {
	ss.mu.Lock()
	ss.ended = true // a late end (a sweep that listed the session) has nothing left to end
	exit := recorder.ExitInfo{Status: -1, Signal: ss.exitSignal}
	end := store.SessionEnd{At: ss.s.now(), ExitSignal: ss.exitSignal, Reason: ss.endReason}
	if ss.exitStatus != nil {
		exit.Status = *ss.exitStatus
		end.ExitStatus = ss.exitStatus
	}
	ss.mu.Unlock()
	// The connection may be gone; the record must still be written (audit
	// bounds each write with its own deadline).
	ctx := context.WithoutCancel(ss.ctx)
	detail := map[string]any{}
	var failures []error
	manifest, err := ss.rec.Close(exit)
	if err != nil {
		failures = append(failures, fmt.Errorf("close: %w", err))
	} else {
		detail["chain_hash"] = manifest.Chain
		detail["events"] = manifest.Events
		if ss.s.cfg.SessionLog != nil {
			idx, err := ss.s.cfg.SessionLog.Append(recorder.LogRecord(manifest))
			if err != nil {
				failures = append(failures, fmt.Errorf("session log: %w", err))
			} else {
				detail["log_index"] = idx
			}
		}
	}
	for _, f := range failures {
		if err := ss.s.audit(ctx, ss.event("recording.failed", store.OutcomeError, f.Error())); err != nil {
			ss.log.Error("recording failure not audited", "failure", f, "err", err)
		}
	}
	end.RecordingSize = ss.rec.Bytes()
	endCtx, cancel := context.WithTimeout(ctx, auditTimeout)
	defer cancel()
	if err := ss.s.cfg.Store.EndSession(endCtx, ss.id, end); err != nil {
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
	if err := ss.s.audit(ctx, ev); err != nil {
		ss.log.Error("session end not audited", "err", err)
	}
}
