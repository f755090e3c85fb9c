package replay

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// sleepRecorder records requested delays without waiting.
type sleepRecorder struct{ delays []time.Duration }

func (s *sleepRecorder) Sleep(ctx context.Context, d time.Duration) error {
	s.delays = append(s.delays, d)
	return ctx.Err()
}

func TestPlayDelays(t *testing.T) {
	path := writeRecording(t, sampleSteps)
	rec, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	tests := []struct {
		name string
		opts PlayOptions
		want []time.Duration
	}{
		// Output at 0.1, 1.11, 36.11, 36.11: pauses 0.1, 1.01, 35, 0.
		{"real-time", PlayOptions{}, []time.Duration{100 * ms, 1010 * ms, 35000 * ms}},
		{"speed-2", PlayOptions{Speed: 2}, []time.Duration{50 * ms, 505 * ms, 17500 * ms}},
		{"idle-limit-2s", PlayOptions{IdleLimit: 2 * time.Second}, []time.Duration{100 * ms, 1010 * ms, 2000 * ms}},
		{"speed-2-idle-limit-1s", PlayOptions{Speed: 2, IdleLimit: time.Second}, []time.Duration{50 * ms, 500 * ms, 500 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sleepRecorder
			tt.opts.Sleep = s.Sleep
			var out bytes.Buffer
			if err := Play(context.Background(), &out, rec, tt.opts); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.delays, tt.want) {
				t.Errorf("delays = %v, want %v", s.delays, tt.want)
			}
			var cat bytes.Buffer
			Cat(&cat, rec)
			if out.String() != cat.String() {
				t.Errorf("Play wrote %q, want %q", out.String(), cat.String())
			}
		})
	}
}

func TestPlayCancel(t *testing.T) {
	rec, err := Read(strings.NewReader(`{"version":2,"width":80,"height":24}
[0,"o","first"]
[3600,"o","an hour later"]
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("auditor closed the player")
	time.AfterFunc(20*time.Millisecond, func() { cancel(stop) })
	var out bytes.Buffer
	start := time.Now()
	err = Play(ctx, &out, rec, PlayOptions{}) // the real timer
	if !errors.Is(err, stop) {
		t.Errorf("Play = %v, want the cancel cause", err)
	}
	if out.String() != "first" {
		t.Errorf("wrote %q", out.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Play took %v to notice cancellation", d)
	}
}

func TestPlayInvalidOptions(t *testing.T) {
	rec := &Recording{}
	for _, o := range []PlayOptions{{Speed: -1}, {IdleLimit: -time.Second}} {
		if err := Play(context.Background(), &bytes.Buffer{}, rec, o); err == nil {
			t.Errorf("Play(%+v) succeeded", o)
		}
	}
}

func TestDelayClamps(t *testing.T) {
	if d := delay(1e300, 0, 1); d <= 0 {
		t.Errorf("delay(1e300) = %v, want a large positive duration", d)
	}
	if d := delay(1e-9, 0, 1); d != 0 {
		t.Errorf("delay(1ns) = %v, want 0 (rounded to µs)", d)
	}
}
