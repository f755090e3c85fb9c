package server

import (
	"bytes"
	"errors"
	"github.com/bastion-ssh/bastion/masking"
	"io"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

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

// BenchmarkOutputPipe is the proxy's output hot path: record to a real
// recording file, then deliver.
func BenchmarkOutputPipe(b *testing.B) {
	for _, size := range []int{64, 4096, 32 << 10} {
		b.Run(byteSize(size), func(b *testing.B) {
			w, err := recorder.Create(filepath.Join(b.TempDir(), "bench.cast"),
				recorder.Header{Session: recorder.Meta{SessionID: "bench"}}, recorder.Options{CheckpointEvery: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close(recorder.ExitInfo{})
			chunk := bytes.Repeat([]byte("drwxr-xr-x 2 root root 4096 Jan  1 00:00 \x1b[34mdir\x1b[0m\r\n"), size/48+1)[:size]
			p := &outputPipe{rec: w, dst: io.Discard}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := p.write(chunk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func byteSize(n int) string {
	if n >= 1024 {
		return strconv.Itoa(n/1024) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

func (f *orderCheck) Offset() recorder.Position { return recorder.Position{} }

// On a terminal, a keystroke's echo is delivered at once; output that
// follows no keystroke may be held until more output or the idle deadline.
func TestEchoIsNotHeld(t *testing.T) {
	m, err := masking.New(masking.Config{IdleFlush: time.Hour}, []byte("test fingerprint key, 32 bytes.."))
	if err != nil {
		t.Fatal(err)
	}
	for _, pty := range []bool{true, false} {
		var keys *atomic.Uint64
		if pty {
			keys = &atomic.Uint64{}
		}
		o := &orderCheck{t: t}
		p := &outputPipe{rec: o, dst: o, mask: m.NewStream(), idle: time.Hour, keys: keys}
		for _, echo := range []string{"l", "s"} {
			if keys != nil {
				keys.Add(1) // the client typed a key
			}
			if err := p.write([]byte(echo)); err != nil {
				t.Fatal(err)
			}
		}
		if got := o.sent.String(); pty && got != "ls" {
			t.Errorf("pty: client got %q, want the echo at once", got)
		} else if !pty && got == "ls" {
			t.Errorf("no pty: a possible value was not held (test no longer exercises the hold)")
		}
		p.flush()
		// Output that answers no keystroke is masked whole, even when a
		// program writes a value in small pieces.
		o = &orderCheck{t: t}
		p = &outputPipe{rec: o, dst: o, mask: m.NewStream(), idle: time.Hour, keys: keys}
		if keys != nil {
			keys.Add(1) // a command typed before the output
		}
		for _, chunk := range []string{"SSN: ", "123", "-45", "-", "6789", "\r\n"} {
			p.write([]byte(chunk))
		}
		p.flush()
		if o.sent.String() != "SSN: ***-**-****\r\n" {
			t.Errorf("pty=%v: %q", pty, o.sent.String())
		}
	}
}

func (f *orderCheck) Input([]byte) error { return nil }
