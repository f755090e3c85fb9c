package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
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

func sftpStream() ([]byte, []sftpOp) {
	var s []byte
	s = append(s, 0, 0, 0, 5, 1, 0, 0, 0, 3) // INIT, version 3 (no request id)
	s = append(s, sftpPacket(fxpOpen, 1, sftpString("/etc/passwd"), u32(1), u32(0))...)
	s = append(s, sftpPacket(6, 2, sftpString("handle"), make([]byte, 8), sftpString(string(bytes.Repeat([]byte{'x'}, 20000))))...) // WRITE
	s = append(s, sftpPacket(fxpRename, 3, sftpString("/a"), sftpString("/b"))...)
	s = append(s, sftpPacket(fxpRemove, 4, sftpString("/tmp/x"))...)
	s = append(s, sftpPacket(fxpSymlink, 5, sftpString("/target"), sftpString("/link"))...)
	s = append(s, sftpPacket(fxpExtended, 6, sftpString("posix-rename@openssh.com"), sftpString("/c"), sftpString("/d"))...)
	s = append(s, sftpPacket(fxpExtended, 7, sftpString("statvfs@openssh.com"), sftpString("/"))...)
	s = append(s, sftpPacket(fxpOpen, 8, sftpString("/new"), u32(2|8|0x10), u32(0))...)
	want := []sftpOp{
		{Op: "open", Path: "/etc/passwd", Mode: "read"},
		{Op: "rename", Path: "/a", Path2: "/b"},
		{Op: "remove", Path: "/tmp/x"},
		{Op: "symlink", Path: "/link", Path2: "/target"},
		{Op: "posix-rename@openssh.com", Path: "/c", Path2: "/d"},
		{Op: "open", Path: "/new", Mode: "write,create,truncate"},
	}
	return s, want
}

func TestSFTPSnifferAnyChunking(t *testing.T) {
	stream, want := sftpStream()
	for _, size := range []int{1, 2, 3, 7, 64, 4096, len(stream)} {
		z := &sftpSniffer{}
		var got []sftpOp
		for i := 0; i < len(stream); i += size {
			got = append(got, z.feed(stream[i:min(i+size, len(stream))])...)
		}
		if z.err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("chunk %d: ops %+v err %v; want %+v", size, got, z.err, want)
		}
	}
}

func TestSFTPSnifferRejectsBadFraming(t *testing.T) {
	z := &sftpSniffer{}
	z.feed([]byte{0xff, 0xff, 0xff, 0xff, 1})
	if !errors.Is(z.err, errSFTPMalformed) {
		t.Errorf("err = %v", z.err)
	}
	z = &sftpSniffer{}
	z.feed([]byte{0, 0, 0, 0})
	if !errors.Is(z.err, errSFTPMalformed) {
		t.Errorf("zero length: err = %v", z.err)
	}
}

func FuzzSFTPSniffer(f *testing.F) {
	stream, _ := sftpStream()
	f.Add(stream, uint16(3))
	f.Add([]byte{0, 0, 0, 9, fxpOpen, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}, uint16(1))
	f.Fuzz(func(t *testing.T, stream []byte, size uint16) {
		chunk := int(size%512) + 1
		whole := &sftpSniffer{}
		want := whole.feed(stream)
		split := &sftpSniffer{}
		var got []sftpOp
		for i := 0; i < len(stream) && split.err == nil; i += chunk {
			got = append(got, split.feed(stream[i:min(i+chunk, len(stream))])...)
		}
		// What is audited must not depend on how TCP cut the stream.
		if (whole.err == nil) != (split.err == nil) || (whole.err == nil && !reflect.DeepEqual(got, want)) {
			t.Fatalf("chunking changed the result: %+v/%v vs %+v/%v", got, split.err, want, whole.err)
		}
	})
}
