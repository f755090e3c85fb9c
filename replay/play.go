package replay

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"
)

// PlayOptions configures Play. The zero value plays in real time.
type PlayOptions struct {
	// Speed divides every delay; 0 means 1 (real time), 2 twice as fast.
	Speed float64
	// IdleLimit caps each pause between outputs, before Speed applies, as
	// asciinema's idle time limit does. Zero means no cap.
	IdleLimit time.Duration
	// Sleep waits for d or until ctx is done, returning ctx's error then;
	// if nil, a timer is used. Tests inject one to record the delays.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Play writes the output events of r to w at their recorded pace, as
// adjusted by opts, until the end or until ctx is done. Delays are rounded to
// the microsecond, the resolution of recorder's timestamps.
func Play(ctx context.Context, w io.Writer, r *Recording, opts PlayOptions) error {
	speed := opts.Speed
	if speed == 0 {
		speed = 1
	}
	if !(speed > 0) || math.IsInf(speed, 0) {
		return fmt.Errorf("replay: invalid speed %v", opts.Speed)
	}
	if opts.IdleLimit < 0 {
		return fmt.Errorf("replay: negative idle limit %v", opts.IdleLimit)
	}
	sleep := opts.Sleep
	if sleep == nil {
		sleep = sleepTimer
	}
	prev := 0.0
	for _, e := range r.Events {
		if e.Code != "o" {
			continue
		}
		d := delay(e.Time-prev, opts.IdleLimit, speed)
		prev = e.Time
		if d > 0 {
			if err := sleep(ctx, d); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if _, err := io.WriteString(w, e.Data); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
	}
	return nil
}

// delay converts a pause of gap seconds to a duration: rounded to the
// microsecond, capped at limit (unless zero), divided by speed, and clamped
// to the range of time.Duration.
func delay(gap float64, limit time.Duration, speed float64) time.Duration {
	us := math.Round(gap * 1e6)
	if l := float64(limit / time.Microsecond); limit > 0 && us > l {
		us = l
	}
	ns := us * 1e3 / speed
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(ns)
}

func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
