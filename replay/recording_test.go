package replay

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/recorder"
)

// fakeClock is a settable clock for the recorder.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

// step is one call on a recorder.Writer.
type step struct {
	after  time.Duration
	code   string // "o", "i", "r", "m"
	data   string
	resize [2]int
}

// writeRecording records steps with the real recorder and returns the path.
func writeRecording(t *testing.T, steps []step) string {
	t.Helper()
	clk := &fakeClock{t: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "s.cast")
	w, err := recorder.Create(path, recorder.Header{
		Width: 100, Height: 30, Title: "db-1",
		Env:     map[string]string{"TERM": "xterm"},
		Session: recorder.Meta{SessionID: "s-42", Identity: "alice", Target: "db-1", Login: "root", Kind: recorder.KindShell},
	}, recorder.Options{Clock: clk.Now, CheckpointEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		clk.t = clk.t.Add(s.after)
		switch s.code {
		case "o":
			err = w.Output([]byte(s.data))
		case "i":
			err = w.Input([]byte(s.data))
		case "r":
			err = w.Resize(s.resize[0], s.resize[1])
		case "m":
			err = w.Marker(s.data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(recorder.ExitInfo{Status: 0}); err != nil {
		t.Fatal(err)
	}
	return path
}

var sampleSteps = []step{
	{after: 100 * time.Millisecond, code: "o", data: "\x1b]0;db-1\x07$ "},
	{after: time.Second, code: "i", data: "ls\r"},
	{after: 10 * time.Millisecond, code: "o", data: "ls\r\n\x1b[01;34mdata\x1b[0m  café  日本\r\n"},
	{after: 5 * time.Second, code: "r", resize: [2]int{120, 40}},
	{after: 0, code: "m", data: "approved"},
	{after: 30 * time.Second, code: "o", data: "$ exit\r\n"},
	{after: 0, code: "o", data: "logout\r\n"},
}

func TestRoundTrip(t *testing.T) {
	path := writeRecording(t, sampleSteps)
	rec, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	h := rec.Header
	if h.Version != 2 || h.Width != 100 || h.Height != 30 || h.Title != "db-1" || h.Env["TERM"] != "xterm" ||
		!h.Timestamp.Equal(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)) {
		t.Errorf("header = %+v", h)
	}
	if s := h.Session; s.SessionID != "s-42" || s.Identity != "alice" || s.Kind != recorder.KindShell {
		t.Errorf("session = %+v", s)
	}
	var want bytes.Buffer
	for _, s := range sampleSteps {
		if s.code == "o" {
			want.WriteString(s.data)
		}
	}
	var got bytes.Buffer
	if err := Cat(&got, rec); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("Cat = %q, want %q", got.String(), want.String())
	}
	if n := len(rec.Events); n != len(sampleSteps)+1 {
		t.Fatalf("%d events, want %d", n, len(sampleSteps)+1)
	}
	if e := rec.Events[3]; e.Code != "r" || e.Data != "120x40" || e.Time != 6.11 {
		t.Errorf("resize event = %+v", e)
	}
	if e := rec.Events[len(rec.Events)-1]; e.Code != "m" || e.Data != "exit 0" {
		t.Errorf("last event = %+v", e)
	}
}

func TestMalformed(t *testing.T) {
	const hdr = `{"version":2,"width":80,"height":24}` + "\n"
	tests := []struct {
		name string
		in   string
		line int
		want string
	}{
		{"empty-file", "", 1, "empty file"},
		{"header-not-object", "[2]\n", 1, "not a JSON object"},
		{"header-not-json", "{version: 2}\n", 1, "header"},
		{"header-no-version", `{"width":80,"height":24}` + "\n", 1, "no version"},
		{"bad-version", `{"version":1,"width":80,"height":24}` + "\n", 1, "unsupported asciicast version 1"},
		{"version-string", `{"version":"2","width":80,"height":24}` + "\n", 1, "header"},
		{"no-size", `{"version":2}` + "\n", 1, "width and height"},
		{"zero-width", `{"version":2,"width":0,"height":24}` + "\n", 1, "width and height"},
		{"event-object", hdr + `[0.1,"o","a"]` + "\n" + `{"time":1}` + "\n", 3, "JSON object, not an array"},
		{"event-string", hdr + `"hello"` + "\n", 2, "JSON string, not an array"},
		{"event-garbage", hdr + `[0.1,"o",` + "\n", 2, "not valid JSON"},
		{"event-two-elements", hdr + `[0.1,"o"]` + "\n", 2, "2 elements"},
		{"event-four-elements", hdr + `[0.1,"o","a","b"]` + "\n", 2, "4 elements"},
		{"time-string", hdr + `["0.1","o","a"]` + "\n", 2, "not a number"},
		{"time-negative", hdr + `[-1,"o","a"]` + "\n", 2, "negative"},
		{"time-order", hdr + `[1.0,"o","a"]` + "\n" + `[2.5,"o","b"]` + "\n" + `[2.0,"o","c"]` + "\n", 4, "before the previous"},
		{"code-number", hdr + `[0.1,1,"a"]` + "\n", 2, "code"},
		{"code-empty", hdr + `[0.1,"","a"]` + "\n", 2, "code"},
		{"data-number", hdr + `[0.1,"o",5]` + "\n", 2, "data is not a string"},
		{"blank-line", hdr + `[0.1,"o","a"]` + "\n\n" + `[0.2,"o","b"]` + "\n", 3, "empty line"},
		{"line-too-long", hdr + `[0.1,"o","` + strings.Repeat("x", MaxLineBytes) + `"]` + "\n", 2, "longer than 8 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.cast")
			if err := os.WriteFile(path, []byte(tt.in), 0o600); err != nil {
				t.Fatal(err)
			}
			rec, err := Open(path)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Open = %v, %v; want a *ParseError", rec, err)
			}
			if pe.Line != tt.line || pe.Path != path || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q (line %d), want line %d and %q", err, pe.Line, tt.line, tt.want)
			}
			if !strings.Contains(err.Error(), path+":"+strconv.Itoa(tt.line)+":") {
				t.Errorf("error %q does not name %s:%d", err, path, tt.line)
			}
			if tt.name == "line-too-long" && !errors.Is(err, ErrLineTooLong) {
				t.Errorf("error %v is not ErrLineTooLong", err)
			}
		})
	}
}

func TestLenient(t *testing.T) {
	// Fields asciicast allows and we do not write are accepted.
	in := `{"version":2,"width":80,"height":24,"timestamp":1.7e9,"idle_time_limit":2.5,"theme":{"fg":"#fff"}}` + "\r\n" +
		`[0,"o","a"]` + "\r\n" + `[0,"x","custom code"]` + "\n" + `[1e-3,"o","b"]`
	rec, err := Read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Header.IdleTimeLimit != 2.5 || rec.Header.Timestamp.Unix() != 1.7e9 || len(rec.Events) != 3 {
		t.Errorf("recording = %+v", rec)
	}
}
