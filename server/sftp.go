package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/bastion-ssh/bastion/store"
)

// SFTP packet types a client sends that change or reveal files
// (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks).
const (
	fxpOpen     = 3
	fxpSetstat  = 9
	fxpOpendir  = 11
	fxpRemove   = 13
	fxpMkdir    = 14
	fxpRmdir    = 15
	fxpRename   = 18
	fxpSymlink  = 20
	fxpExtended = 200
)

const (
	// sftpPrefixMax is how much of a packet the sniffer keeps: enough for
	// the type, id and two paths; WRITE payloads are skipped, not buffered.
	sftpPrefixMax = 8 * 1024
	// sftpPacketMax is larger than any packet OpenSSH's sftp-server accepts
	// (SFTP_MAX_MSG_LENGTH, 256 KiB); beyond it the stream is not SFTP.
	sftpPacketMax = 1 << 20
)

// errSFTPMalformed means the client stream is not valid SFTP framing; the
// session is ended rather than letting an unparsed operation through.
var errSFTPMalformed = errors.New("malformed sftp packet")

// sftpOp is one audited file operation.
type sftpOp struct {
	Op    string // open, opendir, remove, mkdir, rmdir, rename, symlink, setstat, or the extension name
	Path  string
	Path2 string // rename and symlink target
	Mode  string // for open: read, write, create, truncate, append, exclusive
}

func (o sftpOp) String() string {
	var b strings.Builder
	b.WriteString("sftp ")
	b.WriteString(o.Op)
	if o.Mode != "" {
		b.WriteString(" (" + o.Mode + ")")
	}
	b.WriteString(" " + printable(o.Path))
	if o.Path2 != "" {
		b.WriteString(" -> " + printable(o.Path2))
	}
	return b.String()
}

// sftpSniffer follows the packet framing of the client-to-server SFTP
// stream and reports the file operations in it. It never changes the
// stream; the same bytes are forwarded to the target.
type sftpSniffer struct {
	hdr       [4]byte
	hdrN      int
	remaining int    // bytes of the current packet not yet seen
	prefix    []byte // first bytes of the current packet
	want      int    // prefix length to collect
	err       error
}

// feed consumes the next chunk of the stream and returns the operations
// whose packets became parseable in it.
func (z *sftpSniffer) feed(p []byte) []sftpOp {
	var ops []sftpOp
	for len(p) > 0 && z.err == nil {
		if z.remaining == 0 {
			n := copy(z.hdr[z.hdrN:], p)
			z.hdrN += n
			p = p[n:]
			if z.hdrN < 4 {
				break
			}
			z.hdrN = 0
			length := int(binary.BigEndian.Uint32(z.hdr[:]))
			if length == 0 || length > sftpPacketMax {
				z.err = fmt.Errorf("%w: length %d", errSFTPMalformed, length)
				break
			}
			z.remaining = length
			z.want = min(length, sftpPrefixMax)
			z.prefix = z.prefix[:0]
			continue
		}
		if len(z.prefix) < z.want {
			n := min(z.want-len(z.prefix), len(p))
			z.prefix = append(z.prefix, p[:n]...)
			p = p[n:]
			z.remaining -= n
			if len(z.prefix) == z.want {
				if op, ok := parseSFTPRequest(z.prefix); ok {
					ops = append(ops, op)
				}
			}
			continue
		}
		n := min(z.remaining, len(p))
		p = p[n:]
		z.remaining -= n
	}
	return ops
}

// parseSFTPRequest decodes the operations worth auditing from a packet
// prefix (type, request id, then type-specific fields).
func parseSFTPRequest(b []byte) (sftpOp, bool) {
	if len(b) < 5 {
		return sftpOp{}, false
	}
	typ := b[0]
	r := sftpReader{b: b[5:]} // skip type and request id
	switch typ {
	case fxpOpen:
		path := r.str()
		flags := r.u32()
		return sftpOp{Op: "open", Path: path, Mode: openMode(flags)}, !r.bad
	case fxpOpendir, fxpRemove, fxpMkdir, fxpRmdir, fxpSetstat:
		name := map[byte]string{fxpOpendir: "opendir", fxpRemove: "remove", fxpMkdir: "mkdir",
			fxpRmdir: "rmdir", fxpSetstat: "setstat"}[typ]
		return sftpOp{Op: name, Path: r.str()}, !r.bad
	case fxpRename:
		return sftpOp{Op: "rename", Path: r.str(), Path2: r.str()}, !r.bad
	case fxpSymlink:
		// OpenSSH sends (targetpath, linkpath), reversed from the draft.
		target := r.str()
		return sftpOp{Op: "symlink", Path: r.str(), Path2: target}, !r.bad
	case fxpExtended:
		name := r.str()
		switch name {
		case "posix-rename@openssh.com", "hardlink@openssh.com", "copy-data":
			return sftpOp{Op: name, Path: r.str(), Path2: r.str()}, !r.bad
		case "statvfs@openssh.com", "limits@openssh.com", "expand-path@openssh.com",
			"fsync@openssh.com", "fstatvfs@openssh.com", "home-directory", "users-groups-by-id@openssh.com":
			return sftpOp{}, false // read-only queries
		}
		return sftpOp{Op: printable(name)}, !r.bad
	}
	return sftpOp{}, false
}

func openMode(flags uint32) string {
	var m []string
	for _, f := range []struct {
		bit  uint32
		name string
	}{{1, "read"}, {2, "write"}, {4, "append"}, {8, "create"}, {0x10, "truncate"}, {0x20, "exclusive"}} {
		if flags&f.bit != 0 {
			m = append(m, f.name)
		}
	}
	return strings.Join(m, ",")
}

// sftpReader reads SFTP wire fields; a short read sets bad and yields zero
// values from then on.
type sftpReader struct {
	b   []byte
	bad bool
}

func (r *sftpReader) u32() uint32 {
	if r.bad || len(r.b) < 4 {
		r.bad = true
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *sftpReader) str() string {
	n := r.u32()
	if r.bad || uint64(len(r.b)) < uint64(n) {
		r.bad = true
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// auditSFTP writes each operation to the audit log and to the recording
// before the packet that carries it is forwarded.
func (ss *session) auditSFTP(ops []sftpOp) error {
	for _, op := range ops {
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
		if err := ss.s.audit(context.Background(), ev); err != nil {
			return err
		}
		if err := ss.rec.Output([]byte(op.String() + "\r\n")); err != nil {
			return err
		}
	}
	return nil
}
