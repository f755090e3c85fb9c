package server

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/recorder"
)

// gatePlanted are synthetic identifiers; none is a real person's.
var gatePlanted = []string{"123-45-6789", "jane.roe@example.org", "4539 1488 0343 6467"}

const gateCSV = "id,ssn,email,card\n1,123-45-6789,jane.roe@example.org,4539 1488 0343 6467\n2,ORD-2024-0001,none,version 1.2.3-45\n"

// memRecording keeps a session's output in memory.
type memRecording struct {
	failingRecording
	mu  sync.Mutex
	buf bytes.Buffer
}

func (m *memRecording) Output(p []byte) error {
	if err := m.failingRecording.Output(p); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buf.Write(p)
	return nil
}

func (m *memRecording) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.buf.String()
}

type gateFixture struct {
	b      *testBastion
	root   string
	rec    *memRecording
	c      *sftp.Client
	exit   <-chan int // the session's exit status once it has ended
	stderr *syncBuf
	plain  []byte
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startGate serves sftp through the gate over a tree in a temp directory:
// phi/ blocked, *.csv masked (4 KiB at most), the rest passed.
func startGate(t *testing.T, recLimit int) *gateFixture {
	t.Helper()
	root := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plain := make([]byte, 200<<10)
	rand.Read(plain)
	write("phi/secret.txt", []byte("ssn 123-45-6789\n"))
	write("reports/patients.csv", []byte(gateCSV))
	write("reports/big.csv", bytes.Repeat([]byte("x"), 5<<10))
	write("plain.bin", plain)
	policy := fmt.Sprintf(`access:
  - {name: ops, groups: [ops], targets: [demo], logins: [demo]}
files:
  rules:
    - {path: %q, action: block}
    - {path: "**/*.csv", action: mask}
  max_masked_file: 4KiB
`, root+"/phi/**")
	rec := &memRecording{failingRecording: failingRecording{limit: recLimit}}
	b := startTestBastionWith(t, func(recorder.Header) (Recording, string, error) { return rec, "mem", nil }, policy)
	conn := b.dial(t, "alice@example.com", "demo@demo")
	// A raw channel rather than ssh.Session, which reports neither stderr
	// nor the exit status of a subsystem.
	ch, reqs, err := conn.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := ch.SendRequest("subsystem", true, ssh.Marshal(struct{ Name string }{"sftp"})); !ok || err != nil {
		t.Fatalf("subsystem request: %v %v", ok, err)
	}
	stderr := &syncBuf{}
	exit := make(chan int, 1)
	go func() {
		status := -1
		for r := range reqs {
			if r.Type == "exit-status" && len(r.Payload) == 4 {
				status = int(r.Payload[3]) | int(r.Payload[2])<<8
			}
		}
		exit <- status
	}()
	go io.Copy(stderr, ch.Stderr())
	c, err := sftp.NewClientPipe(ch, ch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &gateFixture{b: b, root: root, rec: rec, c: c, exit: exit, stderr: stderr, plain: plain}
}

func (f *gateFixture) path(name string) string { return filepath.Join(f.root, name) }

func (f *gateFixture) read(t *testing.T, name string) ([]byte, error) {
	t.Helper()
	h, err := f.c.Open(f.path(name))
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return io.ReadAll(h)
}

func TestSFTPGateReads(t *testing.T) {
	f := startGate(t, 1<<30)

	t.Run("mask-same-length", func(t *testing.T) {
		got, err := f.read(t, "reports/patients.csv")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(gateCSV) || !strings.Contains(string(got), "***-**-****") || !strings.Contains(string(got), "ORD-2024-0001") {
			t.Errorf("masked file = %q", got)
		}
		for _, v := range gatePlanted {
			if strings.Contains(string(got), v) {
				t.Errorf("client read %q", v)
			}
		}
		fi, err := f.c.Stat(f.path("reports/patients.csv"))
		if err != nil || fi.Size() != int64(len(got)) {
			t.Errorf("stat size %v (%v), served %d bytes", fi, err, len(got))
		}
		evs := f.b.store.eventsOf("masking.applied")
		if len(evs) != 1 || evs[0].Detail["stream"] != "sftp:"+f.path("reports/patients.csv") {
			t.Fatalf("masking.applied = %+v", evs)
		}
	})
	t.Run("pass-byte-identical", func(t *testing.T) {
		got, err := f.read(t, "plain.bin")
		if err != nil || !bytes.Equal(got, f.plain) {
			t.Errorf("pass file differs (%d bytes, err %v)", len(got), err)
		}
	})
	t.Run("block", func(t *testing.T) {
		_, err := f.read(t, "phi/secret.txt")
		if !errors.Is(err, os.ErrPermission) {
			t.Fatalf("err = %v, want permission denied", err)
		}
		waitFor(t, func() bool { return strings.Contains(f.stderr.String(), "blocked by file policy") })
		// Stat passes on a blocked path (documented); listing does not.
		if _, err := f.c.Stat(f.path("phi/secret.txt")); err != nil {
			t.Errorf("stat of a blocked file: %v", err)
		}
		if _, err := f.c.ReadDir(f.path("phi")); !errors.Is(err, os.ErrPermission) {
			t.Errorf("listing a blocked directory: %v", err)
		}
		if len(f.b.store.eventsOf("sftp.blocked")) != 2 {
			t.Errorf("sftp.blocked events = %+v", f.b.store.eventsOf("sftp.blocked"))
		}
	})
	t.Run("dot-dot-does-not-escape", func(t *testing.T) {
		if _, err := f.read(t, "reports/../phi/./secret.txt"); !errors.Is(err, os.ErrPermission) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("too-large-to-mask", func(t *testing.T) {
		if _, err := f.read(t, "reports/big.csv"); err == nil {
			t.Fatal("a masked file over the limit was served")
		}
		if evs := f.b.store.eventsOf("sftp.too_large"); len(evs) != 1 {
			t.Errorf("sftp.too_large = %+v", evs)
		}
	})
	t.Run("read-write-open-of-masked", func(t *testing.T) {
		if _, err := f.c.OpenFile(f.path("reports/patients.csv"), os.O_RDWR); !errors.Is(err, os.ErrPermission) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("list-passes", func(t *testing.T) {
		fis, err := f.c.ReadDir(f.path("reports"))
		if err != nil || len(fis) != 2 {
			t.Errorf("ReadDir = %v, %v", fis, err)
		}
	})
	rec := f.rec.String()
	for _, want := range []string{"sftp open (read) " + f.path("reports/patients.csv") + " [masked]",
		"sftp open (read) " + f.path("phi/secret.txt") + " [refused: blocked by files.rules[0]",
		"sftp opendir " + f.path("reports")} {
		if !strings.Contains(rec, want) {
			t.Errorf("recording lacks %q:\n%s", want, rec)
		}
	}
	for _, v := range gatePlanted {
		if strings.Contains(rec, v) {
			t.Errorf("recording holds %q", v)
		}
	}
}

func TestSFTPGateWrites(t *testing.T) {
	f := startGate(t, 1<<30)
	put := func(name string, data []byte) error {
		h, err := f.c.OpenFile(f.path(name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
		if err != nil {
			return err
		}
		if _, err := h.Write(data); err != nil {
			h.Close()
			return err
		}
		return h.Close()
	}
	t.Run("upload", func(t *testing.T) {
		if err := put("up.bin", f.plain); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(f.path("up.bin")); !bytes.Equal(got, f.plain) {
			t.Error("uploaded file differs")
		}
	})
	t.Run("upload-to-masked-path", func(t *testing.T) {
		if err := put("reports/new.csv", []byte(gateCSV)); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(f.path("reports/new.csv")); string(got) != gateCSV {
			t.Error("uploads are not masked")
		}
	})
	t.Run("upload-to-blocked-path", func(t *testing.T) {
		if err := put("phi/new.txt", []byte("x")); !errors.Is(err, os.ErrPermission) {
			t.Errorf("err = %v", err)
		}
		if _, err := os.Stat(f.path("phi/new.txt")); err == nil {
			t.Error("file created under a blocked path")
		}
	})
	cases := []struct {
		name    string
		do      func() error
		refused bool
	}{
		{"rename-masked-to-pass", func() error { return f.c.Rename(f.path("reports/patients.csv"), f.path("leak.txt")) }, true},
		{"posix-rename-masked-to-pass", func() error { return f.c.PosixRename(f.path("reports/patients.csv"), f.path("leak.txt")) }, true},
		{"hardlink-masked-to-pass", func() error { return f.c.Link(f.path("reports/patients.csv"), f.path("leak.txt")) }, true},
		{"symlink-to-masked-from-pass", func() error { return f.c.Symlink(f.path("reports/patients.csv"), f.path("leak.txt")) }, true},
		{"relative-symlink-to-blocked", func() error { return f.c.Symlink("phi/secret.txt", f.path("leak2.txt")) }, true},
		{"rename-out-of-blocked", func() error { return f.c.Rename(f.path("phi/secret.txt"), f.path("out.txt")) }, true},
		{"remove-in-blocked", func() error { return f.c.Remove(f.path("phi/secret.txt")) }, true},
		{"mkdir-in-blocked", func() error { return f.c.Mkdir(f.path("phi/sub")) }, true},
		{"chmod-in-blocked", func() error { return f.c.Chmod(f.path("phi/secret.txt"), 0o777) }, true},
		{"rename-pass-to-masked", func() error { return f.c.Rename(f.path("up.bin"), f.path("reports/up.csv")) }, false},
		{"rename-masked-to-masked", func() error { return f.c.Rename(f.path("reports/up.csv"), f.path("up2.csv")) }, false},
		{"mkdir", func() error { return f.c.Mkdir(f.path("newdir")) }, false},
		{"chmod", func() error { return f.c.Chmod(f.path("newdir"), 0o700) }, false},
		{"rmdir", func() error { return f.c.RemoveDirectory(f.path("newdir")) }, false},
		{"remove", func() error { return f.c.Remove(f.path("up2.csv")) }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.do()
			if c.refused && !errors.Is(err, os.ErrPermission) {
				t.Errorf("err = %v, want permission denied", err)
			}
			if !c.refused && err != nil {
				t.Errorf("err = %v", err)
			}
		})
	}
	for _, name := range []string{"leak.txt", "leak2.txt", "out.txt", "phi/sub"} {
		if _, err := os.Lstat(f.path(name)); err == nil {
			t.Errorf("%s exists", name)
		}
	}
	if _, err := os.Stat(f.path("phi/secret.txt")); err != nil {
		t.Error("the blocked file was removed")
	}
	if fi, err := os.Stat(f.path("phi/secret.txt")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("the blocked file's mode changed: %v", fi.Mode())
	}
	// Each operation is audited as with the passthrough.
	for _, typ := range []string{"sftp.open", "sftp.rename", "sftp.mkdir", "sftp.setstat", "sftp.rmdir", "sftp.remove"} {
		if len(f.b.store.eventsOf(typ)) == 0 {
			t.Errorf("no %s event", typ)
		}
	}
}

// Fail closed: once the recording cannot be written, no more file
// operations are served and the session ends with the recording status.
func TestSFTPGateRecordingFailureEndsSession(t *testing.T) {
	f := startGate(t, 200)
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		_, err = f.read(t, "plain.bin")
	}
	if err == nil {
		t.Fatal("reads kept working after the recording failed")
	}
	if code := <-f.exit; code != ExitRecordingFailed {
		t.Errorf("session ended with status %d, want %d", code, ExitRecordingFailed)
	}
	waitFor(t, func() bool { return strings.Contains(f.stderr.String(), "file operation could not be recorded") })
	if len(f.b.store.eventsOf("recording.failed")) == 0 {
		t.Error("no recording.failed event")
	}
}
