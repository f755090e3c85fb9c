package server

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

func TestExecPassesOutputAndExitStatus(t *testing.T) {
	b := startTestBastion(t, nil)
	c := b.dial(t, "alice@example.com", "demo@demo")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	s.Stdout, s.Stderr = &out, &errb
	err = s.Run("printf 'h\\xc3\\xa9llo'; echo oops >&2; exit 7")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 7 {
		t.Fatalf("err = %v, want exit status 7", err)
	}
	if out.String() != "héllo" || strings.TrimSpace(errb.String()) != "oops" {
		t.Errorf("stdout %q stderr %q", out.String(), errb.String())
	}
	starts := b.store.eventsOf("session.start")
	if len(starts) != 1 || starts[0].Identity != "alice@example.com" || starts[0].Target != "demo" {
		t.Errorf("session.start events = %+v", starts)
	}
}

// The exit status reaches the client before the end of its output: an
// OpenSSH client whose input has ended closes the channel as soon as it
// reads that EOF, and a status sent after the close is lost (a ControlMaster
// client then exits 255). The client's library hands requests over in the
// order they arrived, so by the time stdout reads EOF the status is queued.
func TestExitStatusPrecedesEOF(t *testing.T) {
	b := startTestBastion(t, nil)
	c := b.dial(t, "alice@example.com", "demo@demo")
	for i := 0; i < 20; i++ {
		ch, reqs, err := c.OpenChannel("session", nil)
		if err != nil {
			t.Fatal(err)
		}
		ok, err := ch.SendRequest("exec", true, ssh.Marshal(struct{ Command string }{"echo hi; exit 3"}))
		if err != nil || !ok {
			t.Fatalf("exec: %v %v", ok, err)
		}
		_ = ch.CloseWrite()
		if out, err := io.ReadAll(ch); err != nil || string(out) != "hi\n" {
			t.Fatalf("stdout %q, %v", out, err)
		}
		select {
		case r := <-reqs:
			if r.Type != "exit-status" || len(r.Payload) != 4 || r.Payload[3] != 3 {
				t.Fatalf("first request after the output: %s %x", r.Type, r.Payload)
			}
		default:
			t.Fatalf("session %d: stdout ended before the exit status was sent", i)
		}
		ch.Close()
	}
}

// Recorded before seen: when the recording stops accepting output, the
// client gets no more of it, the session ends with the recording exit
// status and a message, and the failure is audited.
func TestRecordingFailureEndsSession(t *testing.T) {
	const limit = 64 << 10
	rec := &failingRecording{limit: limit}
	b := startTestBastion(t, func(h recorder.Header) (Recording, string, error) { return rec, "mem", nil })
	c := b.dial(t, "alice@example.com", "demo@demo")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	s.Stdout, s.Stderr = &out, &errb
	err = s.Run("head -c 10000000 /dev/zero")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != ExitRecordingFailed {
		t.Fatalf("err = %v, want exit status %d", err, ExitRecordingFailed)
	}
	if out.Len() > limit {
		t.Errorf("client received %d bytes, more than the %d the recording accepted", out.Len(), limit)
	}
	if !strings.Contains(errb.String(), "session recording failed; session terminated") {
		t.Errorf("stderr = %q", errb.String())
	}
	if evs := b.store.eventsOf("recording.failed"); len(evs) == 0 {
		t.Error("no recording.failed audit event")
	}
}

func TestUnknownTargetRefused(t *testing.T) {
	b := startTestBastion(t, nil)
	c := b.dial(t, "alice@example.com", "demo@elsewhere")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	s.Stderr = &errb
	err = s.Run("true")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != ExitUnknownTarget {
		t.Fatalf("err = %v, want %d", err, ExitUnknownTarget)
	}
	if !strings.Contains(errb.String(), `unknown target "elsewhere"`) {
		t.Errorf("stderr = %q", errb.String())
	}
}

// With input recording on, what the client types is in the recording as
// "i" events, masked like output, and nothing raw is written.
func TestInputRecordedMasked(t *testing.T) {
	b := startTestBastion(t, nil)
	b.server.cfg.RecordInput = true
	c := b.dial(t, "alice@example.com", "demo@demo")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	s.Stdin = strings.NewReader("lookup SSN 123-45-6789\n")
	var out bytes.Buffer
	s.Stdout = &out
	if err := s.Run("cat >/dev/null; echo done"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(b.store.eventsOf("session.end")) == 1 })
	var rec store.Session
	for _, x := range b.store.sessions {
		rec = x
	}
	data, err := os.ReadFile(rec.Recording)
	if err != nil {
		t.Fatal(err)
	}
	cast := string(data)
	if !strings.Contains(cast, `"i","lookup SSN ***-**-****\n"`) {
		t.Errorf("recording lacks the masked input:\n%s", cast)
	}
	if strings.Contains(cast, "123-45-6789") {
		t.Error("raw input value in the recording")
	}
}
