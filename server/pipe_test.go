package server

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bastion-ssh/bastion/masking"
	"github.com/bastion-ssh/bastion/recorder"
)

// orderCheck fails the test if the client is sent a byte the recording
// has not yet accepted.
type orderCheck struct {
	t        *testing.T
	recorded bytes.Buffer
	sent     bytes.Buffer
}

func (o *orderCheck) Output(p []byte) error {
	if !utf8.Valid(p) && utf8.Valid(append(o.recorded.Bytes(), p...)) {
		o.t.Errorf("recording got a split character: %q", p)
	}
	o.recorded.Write(p)
	return nil
}

func (o *orderCheck) Write(p []byte) (int, error) {
	o.sent.Write(p)
	if !bytes.HasPrefix(o.recorded.Bytes(), o.sent.Bytes()) {
		o.t.Fatalf("client sent %q before it was recorded", o.sent.Bytes())
	}
	return len(p), nil
}

func (o *orderCheck) Resize(int, int) error { return nil }
func (o *orderCheck) Marker(string) error   { return nil }
func (o *orderCheck) Bytes() int64          { return int64(o.recorded.Len()) }
func (o *orderCheck) Close(recorder.ExitInfo) (recorder.Manifest, error) {
	return recorder.Manifest{}, nil
}

func TestOutputPipeRecordsBeforeDelivering(t *testing.T) {
	text := []byte("héllo 日本 \x1b[31mred\x1b[0m\r\n\xff binary")
	for size := 1; size <= len(text); size++ {
		o := &orderCheck{t: t}
		p := &outputPipe{rec: o, dst: o}
		for i := 0; i < len(text); i += size {
			if err := p.write(text[i:min(i+size, len(text))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(o.sent.Bytes(), text) || !bytes.Equal(o.recorded.Bytes(), text) {
			t.Fatalf("chunk %d: sent %q recorded %q", size, o.sent.Bytes(), o.recorded.Bytes())
		}
	}
}

func TestOutputPipeStopsOnRecordingError(t *testing.T) {
	var sent bytes.Buffer
	p := &outputPipe{rec: &failingRecording{limit: 4}, dst: &sent}
	if err := p.write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	err := p.write([]byte("defgh"))
	var recErr *errRecording
	if !errors.As(err, &recErr) {
		t.Fatalf("err = %v, want errRecording", err)
	}
	if sent.String() != "abc" {
		t.Errorf("client got %q after the recording failed", sent.String())
	}
}

func TestCompleteUTF8(t *testing.T) {
	cases := map[string]int{"": 0, "abc": 3, "h\xc3": 1, "h\xc3\xa9": 3, "\xe6\x97": 0, "\xe6\x97\xa5": 3, "\xff": 1, "a\xf0\x9f\x98": 1}
	for in, want := range cases {
		if got := completeUTF8([]byte(in)); got != want {
			t.Errorf("completeUTF8(%q) = %d, want %d", in, got, want)
		}
	}
}

func (f *orderCheck) Offset() recorder.Position { return recorder.Position{} }

// echoFixture is a pipe on a terminal with a clock the test moves; timed
// releases run when the test calls tick.
type echoFixture struct {
	o    *echoRecorder
	p    *outputPipe
	keys *keystrokes
	now  time.Time
}

// echoRecorder records what the recording and the client get, without the
// recorded-before-sent check (an echo goes ahead of the recording).
type echoRecorder struct {
	orderCheck
	sentLog []string
}

func (e *echoRecorder) Write(p []byte) (int, error) {
	e.sent.Write(p)
	e.sentLog = append(e.sentLog, string(p))
	return len(p), nil
}

func newEchoFixture(t *testing.T, pty bool) *echoFixture {
	m, err := masking.New(masking.Config{}, []byte("test fingerprint key, 32 bytes.."))
	if err != nil {
		t.Fatal(err)
	}
	f := &echoFixture{o: &echoRecorder{orderCheck: orderCheck{t: t}}, now: time.Unix(0, 0)}
	if pty {
		f.keys = &keystrokes{}
	}
	f.p = &outputPipe{rec: f.o, dst: f.o, mask: m.NewPaced(), keys: f.keys, now: func() time.Time { return f.now }}
	t.Cleanup(func() {
		if f.p.timer != nil {
			f.p.timer.Stop()
		}
	})
	return f
}

func (f *echoFixture) typeKey(t *testing.T, key, echo string) {
	t.Helper()
	if f.keys != nil {
		f.keys.add([]byte(key))
	}
	if echo != "" {
		if err := f.p.write([]byte(echo)); err != nil {
			t.Fatal(err)
		}
	}
}

// On a terminal, the exact echo of typing reaches the client at once,
// digits included; the recording gets it masked once decided.
func TestEchoOfTypingGoesAheadAndIsRecordedMasked(t *testing.T) {
	f := newEchoFixture(t, true)
	f.p.write([]byte("$ "))
	for _, c := range "echo 123-45-6789" {
		f.typeKey(t, string(c), string(c))
		if !strings.HasSuffix(f.o.sent.String(), string(c)) {
			t.Fatalf("echo of %q not sent at once: client has %q", c, f.o.sent.String())
		}
	}
	if strings.Contains(f.o.recorded.String(), "123") {
		t.Fatalf("recording holds typed digits raw: %q", f.o.recorded.String())
	}
	f.typeKey(t, "\r", "\r\n")
	f.p.write([]byte("***-**-****\r\n$ "))
	if got, want := f.o.recorded.String(), "$ echo ***-**-****\r\n***-**-****\r\n$ "; got != want {
		t.Errorf("recording %q, want %q", got, want)
	}
	if got, want := f.o.sent.String(), "$ echo 123-45-6789\r\n***-**-****\r\n$ "; got != want {
		t.Errorf("client got %q, want %q", got, want)
	}
}

// A typed value left at the prompt reaches the recording masked at the
// hold deadline.
func TestTypedValueRecordedMaskedAtDeadline(t *testing.T) {
	f := newEchoFixture(t, true)
	for _, c := range "123-45-6789" {
		f.typeKey(t, string(c), string(c))
	}
	f.now = f.now.Add(masking.DefaultHoldDeadline)
	f.p.tick()
	if got := f.o.recorded.String(); got != "***-**-****" {
		t.Errorf("recording %q, want the typed value masked", got)
	}
}

// With echo off, output that is not the echo of what was typed is masked
// however small its pieces and however soon after a keystroke it comes.
func TestOutputAfterKeystrokesIsNotEcho(t *testing.T) {
	for _, pty := range []bool{true, false} {
		f := newEchoFixture(t, pty)
		for _, chunk := range []string{"1", "23", "-", "45", "-6", "789", "\r\n"} {
			f.typeKey(t, "x", chunk) // stty -echo: every key answered by a piece
		}
		f.p.flush()
		if got := f.o.sent.String(); got != "***-**-****\r\n" {
			t.Errorf("pty=%v: client got %q", pty, got)
		}
		if got := f.o.recorded.String(); got != "***-**-****\r\n" {
			t.Errorf("pty=%v: recording %q", pty, got)
		}
	}
}

// Echo may not overtake output the masker still holds: the keystroke's
// echo then waits with it.
func TestEchoWaitsBehindHeldOutput(t *testing.T) {
	f := newEchoFixture(t, true)
	f.p.write([]byte("id 12"))
	f.typeKey(t, "a", "a")
	if got := f.o.sent.String(); strings.Contains(got, "a") || !strings.HasPrefix(got, "id ") {
		t.Fatalf("client got %q, want the echo behind the held digits", got)
	}
	f.p.write([]byte("\r\n"))
	if got := f.o.sent.String(); got != "id 12a\r\n" {
		t.Fatalf("client got %q", got)
	}
}

// A value printed with a pause longer than the deadline is released masked
// at the deadline and its continuation stays masked.
func TestPausedValueReleasedMasked(t *testing.T) {
	f := newEchoFixture(t, false)
	f.p.write([]byte("123-45-"))
	f.now = f.now.Add(masking.DefaultIdleFlush * 2)
	f.p.tick()
	if got := f.o.sent.String(); got != "" {
		t.Fatalf("released %q after an idle pause", got)
	}
	f.now = f.now.Add(masking.DefaultHoldDeadline)
	f.p.tick()
	f.p.write([]byte("6789\r\n"))
	if got := f.o.sent.String(); got != "***-**-****\r\n" {
		t.Fatalf("client got %q", got)
	}
}

func TestEchoOf(t *testing.T) {
	cases := []struct {
		typed, out string
		n          int
	}{
		{"l", "l", 1},
		{"ls\r", "ls\r\n", 3},
		{"a\x7f", "a\b \b", 2},
		{"\x7f", "\b\x1b[K", 1},
		{"\x1b[D", "\b", 3},
		{"x", "123", 0},
		{"1", "12", 0},
		{"\t", "\t", 0},
		{"ab", "a", 1},
	}
	for _, c := range cases {
		if n := echoOf([]byte(c.typed), []byte(c.out)); n != c.n {
			t.Errorf("echoOf(%q, %q) = %d, want %d", c.typed, c.out, n, c.n)
		}
	}
}

func (f *orderCheck) Input([]byte) error { return nil }

// When another stream on the same terminal wrote just before, a stream's
// end releases its undecided tail masked: the client may show the two in
// either order.
func TestEndOfStreamFailsClosedBesideAnotherStream(t *testing.T) {
	m, err := masking.New(masking.Config{}, []byte("test fingerprint key, 32 bytes.."))
	if err != nil {
		t.Fatal(err)
	}
	term := newClientTerminal(m, nil)
	now := time.Unix(0, 0)
	clock := func() time.Time { return now }
	var outBuf, errBuf bytes.Buffer
	rec := &orderCheck{t: t}
	stdout := &outputPipe{rec: rec, dst: &outBuf, mask: m.NewPaced(), term: term, now: clock}
	stderr := &outputPipe{rec: rec, dst: &errBuf, mask: m.NewPaced(), term: term, now: clock}
	stdout.write([]byte("123-45-"))
	stderr.write([]byte("6789\n"))
	stdout.flush()
	stderr.flush()
	if outBuf.String() != "***-**-" {
		t.Errorf("stdout %q, stderr %q", outBuf.String(), errBuf.String())
	}
	// Alone, a stream's end decides its tail as the end of the text.
	alone := &outputPipe{rec: rec, dst: &outBuf, mask: m.NewPaced(), term: newClientTerminal(m, nil), now: clock}
	outBuf.Reset()
	alone.write([]byte("port 8080"))
	alone.flush()
	if outBuf.String() != "port 8080" {
		t.Errorf("alone: %q", outBuf.String())
	}
}

// syncOrderCheck is orderCheck for a client written from the sender's
// goroutine while the pipe records the next chunk.
type syncOrderCheck struct {
	mu       sync.Mutex
	recorded bytes.Buffer
	sent     bytes.Buffer
	early    int // bytes sent before they were recorded
}

func (o *syncOrderCheck) Output(p []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.recorded.Write(p)
	return nil
}

func (o *syncOrderCheck) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent.Write(p)
	if o.early == 0 && !bytes.HasPrefix(o.recorded.Bytes(), o.sent.Bytes()) {
		o.early = len(p)
	}
	time.Sleep(20 * time.Microsecond) // a client slower than the target
	return len(p), nil
}

func (o *syncOrderCheck) Input([]byte) error        { return nil }
func (o *syncOrderCheck) Offset() recorder.Position { return recorder.Position{} }
func (o *syncOrderCheck) Resize(int, int) error     { return nil }
func (o *syncOrderCheck) Marker(string) error       { return nil }
func (o *syncOrderCheck) Bytes() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return int64(o.recorded.Len())
}
func (o *syncOrderCheck) Close(recorder.ExitInfo) (recorder.Manifest, error) {
	return recorder.Manifest{}, nil
}

// Masked bulk output to a client slower than the target: the pipe hands
// its output buffers to the sender instead of copying them, and masks the
// next chunk while the last is being sent. The client gets exactly what
// was recorded, masked, in order, and never a byte before it is recorded:
// a buffer handed off and then reused for the next chunk would show here.
func TestMaskedBulkToSlowClientArrivesAsRecorded(t *testing.T) {
	m, err := masking.New(masking.Config{}, []byte("test fingerprint key, 32 bytes.."))
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	for i := 0; text.Len() < 1<<20; i++ {
		fmt.Fprintf(&text, "line %06d patient jane.doe%d@example.org ssn 123-45-%04d ok\r\n", i, i, i%10000)
	}
	o := &syncOrderCheck{}
	p := &outputPipe{rec: o, dst: o, mask: m.NewPaced(), term: newClientTerminal(m, nil)}
	data := text.Bytes()
	for i, n := 0, 0; i < len(data); i += n {
		n = min(1+i*31%(256<<10), len(data)-i) // small and large reads
		if err := p.write(data[i : i+n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.flush(); err != nil {
		t.Fatal(err)
	}
	if err := p.waitSent(); err != nil {
		t.Fatal(err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.early > 0 {
		t.Fatalf("a chunk of %d bytes reached the client before it was recorded", o.early)
	}
	if !bytes.Equal(o.sent.Bytes(), o.recorded.Bytes()) || o.sent.Len() != len(data) {
		t.Fatalf("client got %d bytes, recorded %d, target sent %d", o.sent.Len(), o.recorded.Len(), len(data))
	}
	if bytes.Contains(o.sent.Bytes(), []byte("@example.org")) {
		t.Fatal("an e-mail address reached the client unmasked")
	}
}
