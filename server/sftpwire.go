package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// SFTP wire format (draft-ietf-secsh-filexfer-02, the version OpenSSH
// speaks): each packet is uint32 length, byte type, then for every type
// but INIT and VERSION a uint32 request id and type-specific fields.
const (
	fxpInit          = 1
	fxpVersion       = 2
	fxpOpen          = 3
	fxpClose         = 4
	fxpRead          = 5
	fxpWrite         = 6
	fxpLstat         = 7
	fxpFstat         = 8
	fxpSetstat       = 9
	fxpFsetstat      = 10
	fxpOpendir       = 11
	fxpReaddir       = 12
	fxpRemove        = 13
	fxpMkdir         = 14
	fxpRmdir         = 15
	fxpRealpath      = 16
	fxpStat          = 17
	fxpRename        = 18
	fxpReadlink      = 19
	fxpSymlink       = 20
	fxpStatus        = 101
	fxpHandle        = 102
	fxpData          = 103
	fxpName          = 104
	fxpAttrs         = 105
	fxpExtended      = 200
	fxpExtendedReply = 201
)

const (
	// sftpPacketMax is OpenSSH's SFTP_MAX_MSG_LENGTH (256 KiB): neither its
	// sftp client nor its server sends or accepts a longer packet.
	sftpPacketMax = 256 * 1024
	// sftpHandleMax is the longest handle the protocol allows.
	sftpHandleMax = 256
)

// errSFTPMalformed means a stream is not well-formed SFTP.
var errSFTPMalformed = errors.New("malformed sftp stream")

// sftpHandler receives what a framer finds: each packet (from its type
// byte; for WRITE and DATA only the fields before the data), then the
// data of WRITE and DATA in pieces. An error stops the stream.
type sftpHandler interface {
	packet(typ byte, pkt []byte) error
	data(b []byte) error
}

// sftpFramer splits one direction of an SFTP stream into packets, whatever
// the chunking, checking framing and types from the first byte. Packets are
// kept whole (at most sftpPacketMax), except the data of WRITE and DATA,
// which is streamed to the handler, so that no field of any packet goes
// unparsed and no payload is buffered.
type sftpFramer struct {
	fromServer bool
	started    bool // the first packet (INIT or VERSION) was seen

	hdr    [4]byte
	hdrN   int
	length int    // of the current packet; 0 while reading a length
	pkt    []byte // kept bytes of the current packet
	keep   int    // bytes to keep before the next step
	step   int    // 0: type and id; 1: WRITE's fields before the data; 2: whole packet
	stream int    // data bytes still to stream
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errSFTPMalformed, fmt.Sprintf(format, args...))
}

// feed consumes the next chunk of the stream.
func (f *sftpFramer) feed(p []byte, h sftpHandler) error {
	for len(p) > 0 {
		switch {
		case f.length == 0:
			n := copy(f.hdr[f.hdrN:], p)
			f.hdrN += n
			p = p[n:]
			if f.hdrN < 4 {
				return nil
			}
			f.hdrN = 0
			length := binary.BigEndian.Uint32(f.hdr[:])
			if length < 5 || length > sftpPacketMax {
				return malformed("packet length %d", length)
			}
			f.length, f.pkt, f.keep, f.step = int(length), f.pkt[:0], 9, 0
			f.keep = min(f.keep, f.length)
		case len(f.pkt) < f.keep:
			n := min(f.keep-len(f.pkt), len(p))
			f.pkt = append(f.pkt, p[:n]...)
			p = p[n:]
			if len(f.pkt) == f.keep {
				if err := f.advance(h); err != nil {
					return err
				}
			}
		default:
			n := min(f.stream, len(p))
			if err := h.data(p[:n]); err != nil {
				return err
			}
			p = p[n:]
			if f.stream -= n; f.stream == 0 {
				f.length = 0
			}
		}
	}
	return nil
}

// advance takes the next step once the kept bytes are complete.
func (f *sftpFramer) advance(h sftpHandler) error {
	typ := f.pkt[0]
	switch f.step {
	case 0:
		if err := f.checkType(typ); err != nil {
			return err
		}
		switch {
		case typ == fxpWrite && !f.fromServer:
			if f.length < 9 {
				return malformed("short write")
			}
			hl := int(binary.BigEndian.Uint32(f.pkt[5:9]))
			if hl > sftpHandleMax || 9+hl+8+4 > f.length {
				return malformed("write handle length %d", hl)
			}
			f.keep, f.step = 9+hl+8+4, 1
			return nil
		case typ == fxpData && f.fromServer:
			if f.length < 9 {
				return malformed("short data")
			}
			return f.startData(h, int(binary.BigEndian.Uint32(f.pkt[5:9])))
		}
		f.keep, f.step = f.length, 2
		if len(f.pkt) < f.keep {
			return nil
		}
		return f.whole(h)
	case 1:
		return f.startData(h, int(binary.BigEndian.Uint32(f.pkt[len(f.pkt)-4:])))
	}
	return f.whole(h)
}

func (f *sftpFramer) whole(h sftpHandler) error {
	f.length = 0
	return h.packet(f.pkt[0], f.pkt)
}

// startData delivers a WRITE or DATA packet's fields and streams its data.
func (f *sftpFramer) startData(h sftpHandler, n int) error {
	if len(f.pkt)+n != f.length {
		return malformed("data length %d in a packet of %d bytes", n, f.length)
	}
	if err := h.packet(f.pkt[0], f.pkt); err != nil {
		return err
	}
	f.stream = n
	if n == 0 {
		f.length = 0
	}
	return nil
}

// checkType enforces the first packet (INIT from the client, VERSION from
// the server) and the types each side may send.
func (f *sftpFramer) checkType(typ byte) error {
	first := byte(fxpInit)
	if f.fromServer {
		first = fxpVersion
	}
	if !f.started {
		if typ != first {
			return malformed("first packet has type %d, want %d", typ, first)
		}
		f.started = true
		return nil
	}
	ok := typ >= fxpOpen && typ <= fxpSymlink || typ == fxpExtended
	if f.fromServer {
		ok = typ >= fxpStatus && typ <= fxpAttrs || typ == fxpExtendedReply
	}
	if !ok {
		return malformed("packet type %d", typ)
	}
	return nil
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

func (r *sftpReader) u64() uint64 {
	hi := r.u32()
	return uint64(hi)<<32 | uint64(r.u32())
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

// sftpRequest is a client packet's fields the bastion acts on.
type sftpRequest struct {
	typ    byte
	id     uint32
	op     *sftpOp // an operation to audit before it is forwarded
	handle string  // CLOSE, READ, WRITE, FSETSTAT, FSTAT, READDIR
	offset uint64  // READ, WRITE
}

// parseSFTPRequest decodes a client packet (from its type byte). Every
// field up to the attributes is checked; a packet that does not parse is
// malformed, never forwarded unaudited.
func parseSFTPRequest(pkt []byte) (sftpRequest, error) {
	q := sftpRequest{typ: pkt[0]}
	r := sftpReader{b: pkt[1:]}
	if q.typ == fxpInit {
		r.u32() // version
		return q, check(r, "init")
	}
	q.id = r.u32()
	switch q.typ {
	case fxpOpen:
		path := r.str()
		q.op = &sftpOp{Op: "open", Path: path, Mode: openMode(r.u32())}
	case fxpOpendir, fxpRemove, fxpMkdir, fxpRmdir, fxpSetstat:
		name := map[byte]string{fxpOpendir: "opendir", fxpRemove: "remove", fxpMkdir: "mkdir",
			fxpRmdir: "rmdir", fxpSetstat: "setstat"}[q.typ]
		q.op = &sftpOp{Op: name, Path: r.str()}
	case fxpRename:
		q.op = &sftpOp{Op: "rename", Path: r.str(), Path2: r.str()}
	case fxpSymlink:
		// OpenSSH sends (targetpath, linkpath), reversed from the draft.
		target := r.str()
		q.op = &sftpOp{Op: "symlink", Path: r.str(), Path2: target}
	case fxpLstat, fxpStat, fxpRealpath, fxpReadlink:
		r.str()
	case fxpClose, fxpFstat, fxpReaddir, fxpFsetstat:
		q.handle = r.str()
	case fxpRead:
		q.handle, q.offset = r.str(), r.u64()
		r.u32() // length
	case fxpWrite:
		q.handle, q.offset = r.str(), r.u64()
		r.u32() // data length, checked by the framer
	case fxpExtended:
		name := r.str()
		switch name {
		case "posix-rename@openssh.com", "hardlink@openssh.com", "copy-data":
			q.op = &sftpOp{Op: name, Path: r.str(), Path2: r.str()}
		case "statvfs@openssh.com", "limits@openssh.com", "expand-path@openssh.com",
			"fsync@openssh.com", "fstatvfs@openssh.com", "home-directory", "users-groups-by-id@openssh.com":
			// read-only queries
		default:
			q.op = &sftpOp{Op: printable(name)}
		}
	}
	return q, check(r, fmt.Sprintf("request type %d", q.typ))
}

// sftpReply is a server packet's fields the bastion acts on.
type sftpReply struct {
	typ    byte
	id     uint32
	handle string // HANDLE
}

func parseSFTPReply(pkt []byte) (sftpReply, error) {
	p := sftpReply{typ: pkt[0]}
	r := sftpReader{b: pkt[1:]}
	if p.typ == fxpVersion {
		r.u32()
		return p, check(r, "version")
	}
	p.id = r.u32()
	switch p.typ {
	case fxpStatus:
		r.u32() // code; message and language tag are optional before version 3
	case fxpHandle:
		p.handle = r.str()
		if len(p.handle) > sftpHandleMax {
			return p, malformed("handle of %d bytes", len(p.handle))
		}
	case fxpData:
		r.u32() // data length, checked by the framer
	case fxpName:
		r.u32() // count; the entries are not interpreted
	}
	return p, check(r, fmt.Sprintf("reply type %d", p.typ))
}

func check(r sftpReader, what string) error {
	if r.bad {
		return malformed("%s: truncated fields", what)
	}
	return nil
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
