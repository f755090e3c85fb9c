package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func sftpString(s string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(s)))
	return append(b, s...)
}

// sftpPacket frames a request: length, type, request id, body.
func sftpPacket(typ byte, id uint32, body ...[]byte) []byte {
	payload := []byte{typ}
	payload = binary.BigEndian.AppendUint32(payload, id)
	for _, b := range body {
		payload = append(payload, b...)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// longPath is a 4 KiB path: two of them in one rename exceed any fixed
// prefix a sniffer might keep.
var longPath = "/" + strings.Repeat("d/", 2047) + "x"

func sftpStream() ([]byte, []sftpOp) {
	var s []byte
	s = append(s, 0, 0, 0, 5, fxpInit, 0, 0, 0, 3) // INIT, version 3 (no request id)
	s = append(s, sftpPacket(fxpOpen, 1, sftpString("/etc/passwd"), u32(1), u32(0))...)
	s = append(s, sftpPacket(fxpWrite, 2, sftpString("handle"), make([]byte, 8), sftpString(string(bytes.Repeat([]byte{'x'}, 20000))))...)
	s = append(s, sftpPacket(fxpRename, 3, sftpString("/a"), sftpString("/b"))...)
	s = append(s, sftpPacket(fxpRemove, 4, sftpString("/tmp/x"))...)
	s = append(s, sftpPacket(fxpSymlink, 5, sftpString("/target"), sftpString("/link"))...)
	s = append(s, sftpPacket(fxpExtended, 6, sftpString("posix-rename@openssh.com"), sftpString("/c"), sftpString("/d"))...)
	s = append(s, sftpPacket(fxpExtended, 7, sftpString("statvfs@openssh.com"), sftpString("/"))...)
	s = append(s, sftpPacket(fxpOpen, 8, sftpString("/new"), u32(2|8|0x10), u32(0))...)
	s = append(s, sftpPacket(fxpRename, 9, sftpString(longPath), sftpString(longPath+"2"))...)
	want := []sftpOp{
		{Op: "open", Path: "/etc/passwd", Mode: "read"},
		{Op: "rename", Path: "/a", Path2: "/b"},
		{Op: "remove", Path: "/tmp/x"},
		{Op: "symlink", Path: "/link", Path2: "/target"},
		{Op: "posix-rename@openssh.com", Path: "/c", Path2: "/d"},
		{Op: "open", Path: "/new", Mode: "write,create,truncate"},
		{Op: "rename", Path: longPath, Path2: longPath + "2"},
	}
	return s, want
}

// opCollector is a handler that keeps the audited operations (client
// side) or parses the replies (server side), and counts the streamed data.
type opCollector struct {
	fromServer bool
	ops        []sftpOp
	n          int
}

func (c *opCollector) packet(_ byte, pkt []byte) error {
	if c.fromServer {
		_, err := parseSFTPReply(pkt)
		return err
	}
	q, err := parseSFTPRequest(pkt)
	if err == nil && q.op != nil {
		c.ops = append(c.ops, *q.op)
	}
	return err
}

func (c *opCollector) data(b []byte) error { c.n += len(b); return nil }

func feedChunks(stream []byte, size int, fromServer bool) (*opCollector, error) {
	f := &sftpFramer{fromServer: fromServer}
	c := &opCollector{fromServer: fromServer}
	for i := 0; i < len(stream); i += size {
		if err := f.feed(stream[i:min(i+size, len(stream))], c); err != nil {
			return c, err
		}
	}
	return c, nil
}

func TestSFTPFramerAnyChunking(t *testing.T) {
	stream, want := sftpStream()
	for _, size := range []int{1, 2, 3, 7, 64, 4096, len(stream)} {
		c, err := feedChunks(stream, size, false)
		if err != nil || !reflect.DeepEqual(c.ops, want) || c.n != 20000 {
			t.Errorf("chunk %d: ops %+v data %d err %v; want %+v", size, c.ops, c.n, err, want)
		}
	}
}

// Anything that is not SFTP from the first byte ends the stream: text, a
// wrong first packet, a second INIT, bad lengths, a reply type from the
// client, truncated fields, a WRITE whose lengths disagree.
func TestSFTPFramerRejects(t *testing.T) {
	init := []byte{0, 0, 0, 5, fxpInit, 0, 0, 0, 3}
	cases := map[string]struct {
		stream     []byte
		fromServer bool
	}{
		"shell-output":        {[]byte("uid=0(root) gid=0(root) groups=0(root)\n"), true},
		"text-from-client":    {[]byte("id; cat /etc/shadow\n"), false},
		"huge-length":         {[]byte{0xff, 0xff, 0xff, 0xff, 1}, false},
		"zero-length":         {[]byte{0, 0, 0, 0}, false},
		"open-before-init":    {sftpPacket(fxpOpen, 1, sftpString("/x"), u32(1), u32(0)), false},
		"second-init":         {append(append([]byte{}, init...), init...), false},
		"reply-from-client":   {append(append([]byte{}, init...), sftpPacket(fxpStatus, 1, u32(0))...), false},
		"request-from-server": {append([]byte{0, 0, 0, 5, fxpVersion, 0, 0, 0, 3}, sftpPacket(fxpOpen, 1, sftpString("/x"), u32(1), u32(0))...), true},
		"truncated-rename":    {append(append([]byte{}, init...), sftpPacket(fxpRename, 1, sftpString("/a"), u32(99))...), false},
		"write-length-lies":   {append(append([]byte{}, init...), sftpPacket(fxpWrite, 1, sftpString("h"), make([]byte, 8), u32(5), []byte("0123456789"))...), false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := feedChunks(c.stream, 3, c.fromServer)
			if !errors.Is(err, errSFTPMalformed) {
				t.Errorf("err = %v, want errSFTPMalformed", err)
			}
		})
	}
}

func FuzzSFTPFramer(f *testing.F) {
	stream, _ := sftpStream()
	f.Add(stream, uint16(3), false)
	f.Add([]byte{0, 0, 0, 9, fxpOpen, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}, uint16(1), false)
	f.Add([]byte("uid=0(root)"), uint16(2), true)
	f.Fuzz(func(t *testing.T, stream []byte, size uint16, fromServer bool) {
		whole, werr := feedChunks(stream, max(len(stream), 1), fromServer)
		split, serr := feedChunks(stream, int(size%512)+1, fromServer)
		// What is audited must not depend on how TCP cut the stream.
		if (werr == nil) != (serr == nil) || !reflect.DeepEqual(whole.ops, split.ops) || whole.n != split.n {
			t.Fatalf("chunking changed the result: %+v/%v vs %+v/%v", split.ops, serr, whole.ops, werr)
		}
	})
}
