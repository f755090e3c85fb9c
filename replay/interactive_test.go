package replay

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestParseKeys(t *testing.T) {
	keys, rest := ParseKeys([]byte(" .q\x1b[C\x1bOD\x03x\x1b["))
	want := []Key{KeyPause, KeyStep, KeyQuit, KeyAhead, KeyBack, KeyQuit}
	if len(keys) != len(want) || string(rest) != "\x1b[" {
		t.Fatalf("ParseKeys = %v, rest %q", keys, rest)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Errorf("key %d = %v, want %v", i, keys[i], want[i])
		}
	}
	if keys, _ := ParseKeys(append(rest, 'C')); len(keys) != 1 || keys[0] != KeyAhead {
		t.Errorf("a split arrow: %v", keys)
	}
}

func FuzzParseKeys(f *testing.F) {
	for _, s := range []string{" ", "\x1b[C", "\x1b", "\x1b[", "q\x1bO"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		keys, rest := ParseKeys(p)
		if len(keys) > len(p) || len(rest) > 2 {
			t.Fatalf("ParseKeys(%q) = %v, %q", p, keys, rest)
		}
	})
}

// Paused from the start, the player moves only when told: step, seek
// ahead (markers shown), seek back (the screen redrawn), quit.
func TestInteractiveKeys(t *testing.T) {
	r := &Recording{Events: []Event{
		{Time: 0.5, Code: "o", Data: "one "}, {Time: 60, Code: "o", Data: "two "},
		{Time: 90, Code: "m", Data: "approved by carol\x1b[2J"}, {Time: 120, Code: "o", Data: "three "},
		{Time: 121, Code: "m", Data: "exit 0"},
	}}
	keys := make(chan Key)
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- Interactive(context.Background(), &out, r, keys, InteractiveOptions{At: time.Second})
	}()
	for _, k := range []Key{KeyPause, KeyStep, KeyAhead, KeyAhead, KeyAhead, KeyAhead, KeyAhead, KeyAhead, KeyBack, KeyQuit} {
		keys <- k
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"one ", "paused 0:01 / 2:01", "two ", "step 1:00 / 2:01",
		"marker: approved by carol?[2J", "seek 1:30 / 2:01", clearScreen, "seek 1:25 / 2:01", "quit 1:25 / 2:01"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%q", want, s)
		}
	}
	if strings.Contains(s, "three") {
		t.Errorf("played past the point reached:\n%q", s)
	}
}

func TestAddMarkers(t *testing.T) {
	r := &Recording{Events: []Event{{Time: 1, Code: "o", Data: "a"}, {Time: 2, Code: "o", Data: "b"}}}
	r.AddMarkers([]Event{{Time: 5, Code: "m", Data: "late"}, {Time: 1, Code: "m", Data: "masked 1"}, {Time: 0, Code: "m", Data: "first"}})
	var got []string
	for _, e := range r.Events {
		got = append(got, e.Data)
	}
	if strings.Join(got, ",") != "first,a,masked 1,b,late" {
		t.Errorf("events after AddMarkers: %v", got)
	}
}
