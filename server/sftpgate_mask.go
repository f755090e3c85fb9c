package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/pkg/sftp"

	"github.com/bastion-ssh/bastion/masking"
	"github.com/bastion-ssh/bastion/policies"
	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// sftpFindingsBatch is how many findings one masking.applied audit record
// holds for a masked file; a large file is audited in several records.
const sftpFindingsBatch = 1000

// errMaskedTooLarge stops reading a masked file past the limit.
var errMaskedTooLarge = errors.New("file exceeds the masked download limit")

// openMasked reads the whole file at the target through a fresh masking
// stream and serves the masked bytes from memory. Only masked bytes are
// kept: each chunk read from the target is masked as it arrives, so the
// raw content never reaches the client, the recording or the audit log.
// With same-length masking (the default) the size the client saw in stat
// still matches.
func (g *sftpGate) openMasked(op sftpOp, d policies.FileDecision, real string) (io.ReaderAt, error) {
	ss := g.ss
	pos := ss.rec.Offset()
	if err := g.record(op, d); err != nil {
		return nil, err
	}
	f, err := g.up.Open(real)
	if err != nil {
		return nil, g.upstreamError(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, g.upstreamError(err)
	}
	if fi.Size() > g.max {
		return nil, g.tooLarge(op, d, fi.Size())
	}
	shown, _ := ss.masker.MaskString(op.Path)
	w := &maskingWriter{
		g: g, s: ss.masker.NewStream(), max: g.max, out: make([]byte, 0, fi.Size()),
		stream: "sftp:" + shown, pos: pos,
	}
	// io.Copy uses the file's WriteTo, which reads ahead concurrently.
	if _, err := io.Copy(w, f); err != nil {
		switch {
		case errors.Is(err, errMaskedTooLarge):
			return nil, g.tooLarge(op, d, w.n)
		case w.auditErr != nil:
			return nil, g.recordingFailed(w.auditErr)
		}
		return nil, g.upstreamError(err)
	}
	w.out = w.s.AppendFlush(w.out)
	if err := w.audit(true); err != nil {
		return nil, g.recordingFailed(err)
	}
	return bytes.NewReader(w.out), nil
}

// maskingWriter masks what it is written into out, up to max bytes, and
// audits the findings in batches as they come.
type maskingWriter struct {
	g        *sftpGate
	s        *masking.Stream
	max      int64
	n        int64 // raw bytes written
	out      []byte
	stream   string            // audit stream name: "sftp:" and the masked path
	pos      recorder.Position // the open's line in the recording
	findings []masking.Finding
	auditErr error
}

func (w *maskingWriter) Write(p []byte) (int, error) {
	if w.n+int64(len(p)) > w.max {
		w.n += int64(len(p))
		return 0, errMaskedTooLarge
	}
	w.n += int64(len(p))
	w.out = w.s.AppendWrite(w.out, p)
	if err := w.audit(false); err != nil {
		w.auditErr = err
		return 0, err
	}
	return len(p), nil
}

// audit writes a masking.applied record once a batch is full, or for what
// is left when final.
func (w *maskingWriter) audit(final bool) error {
	w.findings = append(w.findings, w.s.Findings()...)
	if len(w.findings) == 0 || (!final && len(w.findings) < sftpFindingsBatch) {
		return nil
	}
	f := w.findings
	w.findings = nil
	return w.g.ss.auditFindings(w.stream, f, w.pos)
}

// tooLarge refuses a masked file over the limit: it is held in memory to
// be masked, and passing it unmasked instead would defeat the rule.
func (g *sftpGate) tooLarge(op sftpOp, d policies.FileDecision, size int64) error {
	reason := fmt.Sprintf("file of at least %d bytes exceeds files.max_masked_file (%d bytes)", size, g.max)
	user := fmt.Sprintf("too large to mask (the limit is %d bytes)", g.max)
	return g.refuse(op, d, "sftp.too_large", reason, user, sftp.ErrSSHFxFailure)
}

// record audits op and writes it to the recording before it reaches the
// target. If either fails the session ends: no file operation goes
// unrecorded.
func (g *sftpGate) record(op sftpOp, d policies.FileDecision) error {
	note := ""
	if d.Action == policies.FileMask {
		note = " [masked]"
	}
	return g.audit("sftp."+op.Op, store.OutcomeAllowed, "", op, d, note)
}

// block refuses op on a blocked path with permission denied, which the
// client reports as such.
func (g *sftpGate) block(op sftpOp, d policies.FileDecision) error {
	return g.refuse(op, d, "sftp.blocked", "blocked by "+d.Rule, "blocked by file policy", sftp.ErrSSHFxPermissionDenied)
}

// refuse audits and records a refused operation with reason, tells the
// client why in user's words on its stderr (OpenSSH's sftp and scp show
// only the status code's text), and returns the status for the client.
func (g *sftpGate) refuse(op sftpOp, d policies.FileDecision, event, reason, user string, code error) error {
	if err := g.audit(event, store.OutcomeDenied, reason, op, d, " [refused: "+reason+"]"); err != nil {
		return err
	}
	shown, _ := g.ss.masker.MaskString(op.Path)
	fmt.Fprintf(g.ss.ch.Stderr(), "bastion: %s %s: %s\n", op.Op, printable(shown), user)
	return &gateError{code: code, msg: "bastion: " + user}
}

// audit writes one sftp event and the operation's line in the recording,
// with paths masked as in the passthrough (auditSFTP).
func (g *sftpGate) audit(event, outcome, reason string, op sftpOp, d policies.FileDecision, note string) error {
	ss := g.ss
	op.Path, _ = ss.masker.MaskString(op.Path)
	op.Path2, _ = ss.masker.MaskString(op.Path2)
	ev := ss.event(event, outcome, reason)
	ev.Detail["op"] = op.Op
	ev.Detail["path"] = op.Path
	if op.Path2 != "" {
		ev.Detail["path2"] = op.Path2
	}
	if op.Mode != "" {
		ev.Detail["mode"] = op.Mode
	}
	ev.Detail["action"] = string(d.Action)
	ev.Detail["rule"] = d.Rule
	if err := ss.s.audit(ss.ctx, ev); err != nil {
		return g.recordingFailed(err)
	}
	if err := ss.rec.Output([]byte(op.String() + note + "\r\n")); err != nil {
		return g.recordingFailed(err)
	}
	return nil
}

// recordingFailed ends the session because a file operation could not be
// audited or recorded, as the passthrough does.
func (g *sftpGate) recordingFailed(err error) error {
	g.ss.end(endCause{code: ExitRecordingFailed, msg: "file operation could not be recorded; session terminated", event: "recording.failed", err: err})
	return &gateError{code: sftp.ErrSSHFxFailure, msg: "bastion: session terminated"}
}
