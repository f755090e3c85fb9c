package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"sync"

	"github.com/bastion-ssh/bastion/store"
)

// sftp pass-through (no file rules): the bytes go through unchanged, but
// both directions must be well-formed SFTP from the first byte
// (sftpwire.go), each file operation is audited and recorded before its
// packet is forwarded, and each file's transfer leaves its size and SHA-256
// in the audit log when its handle is closed. A stream that is not SFTP
// (a target whose "sftp server" is a shell command, say) ends the session
// with ExitProtocolViolation, and what was seen is recorded.

// sftpSeenMax bounds how much of a malformed stream is kept as evidence.
const sftpSeenMax = 1024

// errSFTPProtocol is a malformed stream, with the chunk in which it was
// found.
type errSFTPProtocol struct {
	fromServer bool
	err        error
	seen       []byte
}

func (e *errSFTPProtocol) Error() string { return e.err.Error() }
func (e *errSFTPProtocol) Unwrap() error { return e.err }

// sftpTransfer is what went through one open file handle.
type sftpTransfer struct {
	op            sftpOp
	read, written digest
}

// digest is the size and SHA-256 of the bytes transferred one way, in the
// order they went through, and whether their offsets were sequential.
type digest struct {
	h        hash.Hash
	n        int64
	next     uint64
	unsorted bool
}

func (d *digest) at(offset uint64) {
	if d.h == nil {
		d.h = sha256.New()
	}
	if offset != d.next {
		d.unsorted = true
	}
}

func (d *digest) add(b []byte) {
	d.h.Write(b)
	d.n += int64(len(b))
	d.next += uint64(len(b))
}

// sftpTracker follows one sftp session's handles across both directions.
type sftpTracker struct {
	ss *session

	mu    sync.Mutex // the two directions run on different goroutines
	opens map[uint32]sftpOp
	files map[string]*sftpTransfer
	reads map[uint32]sftpRead
	cur   *digest // the digest receiving the current DATA payload (target's side)
	curW  *digest // the digest receiving the current WRITE payload (client's side)
}

type sftpRead struct {
	handle string
	offset uint64
}

func (ss *session) sftpTrack() *sftpTracker {
	ss.sftpOnce.Do(func() {
		ss.sftp = &sftpTracker{ss: ss, opens: map[uint32]sftpOp{}, files: map[string]*sftpTransfer{}, reads: map[uint32]sftpRead{}}
	})
	return ss.sftp
}

// sftpRequests parses the client's stream.
type sftpRequests struct {
	f sftpFramer
	t *sftpTracker
}

func (ss *session) sftpRequests() *sftpRequests {
	return &sftpRequests{t: ss.sftpTrack()}
}

// feed parses a chunk before it is forwarded: an error means it must not be.
func (q *sftpRequests) feed(b []byte) error {
	return protocolError(false, b, q.f.feed(b, (*clientSide)(q.t)))
}

// sftpReplies wraps the client channel: the target's replies are parsed
// before they are delivered.
func (ss *session) sftpReplies(dst io.Writer) io.Writer {
	return &sftpReplyWriter{dst: dst, t: ss.sftpTrack()}
}

type sftpReplyWriter struct {
	dst io.Writer
	f   sftpFramer
	t   *sftpTracker
}

func (w *sftpReplyWriter) Write(b []byte) (int, error) {
	w.f.fromServer = true
	if err := protocolError(true, b, w.f.feed(b, (*serverSide)(w.t))); err != nil {
		return 0, err
	}
	return w.dst.Write(b)
}

func protocolError(fromServer bool, chunk []byte, err error) error {
	if !errors.Is(err, errSFTPMalformed) {
		return err
	}
	return &errSFTPProtocol{fromServer: fromServer, err: err, seen: append([]byte(nil), chunk[:min(len(chunk), sftpSeenMax)]...)}
}

// clientSide and serverSide are the tracker as each direction's handler.
type (
	clientSide sftpTracker
	serverSide sftpTracker
)

func (c *clientSide) packet(typ byte, pkt []byte) error {
	t := (*sftpTracker)(c)
	q, err := parseSFTPRequest(pkt)
	if err != nil {
		return err
	}
	if q.op != nil {
		if err := t.ss.auditSFTP(*q.op); err != nil {
			return err
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.curW = nil
	switch typ {
	case fxpOpen:
		t.opens[q.id] = *q.op
	case fxpRead:
		t.reads[q.id] = sftpRead{handle: q.handle, offset: q.offset}
	case fxpWrite:
		if f := t.files[q.handle]; f != nil {
			f.written.at(q.offset)
			t.curW = &f.written
		}
	case fxpClose:
		if f := t.files[q.handle]; f != nil {
			delete(t.files, q.handle)
			return t.ss.auditTransfer(f, false)
		}
	}
	return nil
}

func (c *clientSide) data(b []byte) error {
	t := (*sftpTracker)(c)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.curW != nil {
		t.curW.add(b)
	}
	return nil
}

func (c *serverSide) packet(typ byte, pkt []byte) error {
	t := (*sftpTracker)(c)
	p, err := parseSFTPReply(pkt)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cur = nil
	switch typ {
	case fxpHandle:
		if op, ok := t.opens[p.id]; ok {
			delete(t.opens, p.id)
			t.files[p.handle] = &sftpTransfer{op: op}
		}
	case fxpStatus:
		delete(t.opens, p.id)
		delete(t.reads, p.id)
	case fxpData:
		if rd, ok := t.reads[p.id]; ok {
			delete(t.reads, p.id)
			if f := t.files[rd.handle]; f != nil {
				f.read.at(rd.offset)
				t.cur = &f.read
			}
		}
	}
	return nil
}

func (c *serverSide) data(b []byte) error {
	t := (*sftpTracker)(c)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cur != nil {
		t.cur.add(b)
	}
	return nil
}

// flush audits the transfers whose handles were never closed, when the
// session ends.
func (t *sftpTracker) flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for h, f := range t.files {
		delete(t.files, h)
		errs = append(errs, t.ss.auditTransfer(f, true))
	}
	return errors.Join(errs...)
}

// auditTransfer writes one file's transfer: size and SHA-256 of what was
// read and of what was written. Called with t.mu held.
func (ss *session) auditTransfer(f *sftpTransfer, unclosed bool) error {
	op := f.op
	op.Path, _ = ss.masker.MaskString(op.Path)
	ev := ss.event("sftp.transfer", store.OutcomeInfo, "")
	ev.Detail["path"] = op.Path
	ev.Detail["mode"] = op.Mode
	line := "sftp close " + printable(op.Path)
	for _, d := range []struct {
		name string
		d    *digest
	}{{"read", &f.read}, {"written", &f.written}} {
		if d.d.h == nil {
			continue
		}
		sum := hex.EncodeToString(d.d.h.Sum(nil))
		ev.Detail["bytes_"+d.name] = d.d.n
		ev.Detail["sha256_"+d.name] = sum
		if d.d.unsorted {
			ev.Detail["unsorted_"+d.name] = true // the digest is over the bytes in transfer order
		}
		line += " (" + d.name + " " + strconv.FormatInt(d.d.n, 10) + " bytes, sha256 " + sum + ")"
	}
	if unclosed {
		ev.Detail["unclosed"] = true
	}
	if err := ss.s.audit(ss.ctx, ev); err != nil {
		return err
	}
	return ss.rec.Output([]byte(line + "\r\n"))
}

// auditSFTP writes an operation to the audit log and to the recording
// before the packet that carries it is forwarded.
func (ss *session) auditSFTP(op sftpOp) error {
	// File names can carry identifiers too; mask them like output.
	op.Path, _ = ss.masker.MaskString(op.Path)
	op.Path2, _ = ss.masker.MaskString(op.Path2)
	ev := ss.event("sftp."+op.Op, store.OutcomeAllowed, "")
	ev.Detail["path"] = op.Path
	if op.Path2 != "" {
		ev.Detail["path2"] = op.Path2
	}
	if op.Mode != "" {
		ev.Detail["mode"] = op.Mode
	}
	if err := ss.s.audit(ss.ctx, ev); err != nil {
		return err
	}
	return ss.rec.Output([]byte(op.String() + "\r\n"))
}

// endSFTP ends a pass-through session whose stream failed: malformed, or
// an operation that could not be audited or recorded.
func (ss *session) endSFTP(err error) {
	var proto *errSFTPProtocol
	if errors.As(err, &proto) {
		ss.endSFTPMalformed(proto)
		return
	}
	ss.end(endCause{code: ExitRecordingFailed, event: "recording.failed",
		msg: "file operation could not be recorded; session terminated", err: err})
}

// endSFTPMalformed records what was seen (masked, escaped, bounded) and
// ends the session.
func (ss *session) endSFTPMalformed(e *errSFTPProtocol) {
	from := "client"
	if e.fromServer {
		from = "target"
	}
	seen, _ := ss.masker.MaskString(string(e.seen))
	seen = strconv.Quote(seen)
	line := fmt.Sprintf("bastion: the sftp stream from the %s is not SFTP (%v); seen: %s\r\n", from, e.err, seen)
	if err := ss.rec.Output([]byte(line)); err != nil {
		ss.log.Error("malformed sftp stream not recorded", "err", err)
	}
	ss.end(endCause{code: ExitProtocolViolation, event: "sftp.malformed", err: e,
		msg:    "the sftp stream from the " + from + " is not SFTP; session terminated",
		detail: map[string]any{"from": from, "seen": seen}})
}
