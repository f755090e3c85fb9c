package replay

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// SeekStep is how far the arrow keys seek.
const SeekStep = 5 * time.Second

// clearScreen resets the terminal before replaying up to an earlier point.
const clearScreen = "\x1b[0m\x1b[H\x1b[2J\x1b[3J"

// InteractiveOptions configures Interactive.
type InteractiveOptions struct {
	PlayOptions
	// At starts playback at this offset, the output before it shown at once.
	At time.Duration
	// Status renders a status line (progress, markers) for the terminal;
	// if nil, it is shown in reverse video on a line of its own. Recorded
	// text passed to it (marker labels) must be rendered inert by it.
	Status func(s string) string
	// Inert renders recorded marker labels safe to print; if nil, they are
	// printed with control characters replaced by '?'.
	Inert func(s string) string
}

// player is the state of one interactive playback; only Interactive's
// goroutine touches it.
type player struct {
	w      io.Writer
	r      *Recording
	opts   InteractiveOptions
	next   int     // index of the next event to play
	t      float64 // recording time reached, seconds
	total  float64
	paused bool
}

// Interactive plays r to w, taking commands from keys: space pauses and
// resumes, "." plays the next event while paused, the arrows seek by
// SeekStep, q quits. It shows a status line with elapsed and total time
// when paused, seeking or stepping, and each marker (approvals, denials,
// masking counts, the exit) as it passes. It returns at the end, on q, when
// ctx is done or when keys is closed and the recording has ended.
func Interactive(ctx context.Context, w io.Writer, r *Recording, keys <-chan Key, opts InteractiveOptions) error {
	speed := opts.Speed
	if speed == 0 {
		speed = 1
	}
	if !(speed > 0) || math.IsInf(speed, 0) || opts.IdleLimit < 0 || opts.At < 0 {
		return fmt.Errorf("replay: invalid speed %v, idle limit %v or start %v", opts.Speed, opts.IdleLimit, opts.At)
	}
	opts.Speed = speed
	p := &player{w: w, r: r, opts: opts}
	if n := len(r.Events); n > 0 {
		p.total = r.Events[n-1].Time
	}
	if opts.At > 0 {
		if err := p.seek(opts.At.Seconds()); err != nil {
			return err
		}
	}
	for {
		if p.next >= len(r.Events) {
			return p.status("end")
		}
		var timer <-chan time.Time
		started := time.Now()
		if !p.paused {
			d := delay(r.Events[p.next].Time-p.t, opts.IdleLimit, speed)
			timer = time.After(d)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-timer:
			if err := p.play(); err != nil {
				return err
			}
		case k, ok := <-keys:
			if !ok {
				keys = nil // no more commands: play to the end
				continue
			}
			if !p.paused {
				// Time passed while waiting counts, up to the next event.
				p.t = math.Min(p.t+time.Since(started).Seconds()*speed, r.Events[p.next].Time)
			}
			done, err := p.command(k)
			if done || err != nil {
				return err
			}
		}
	}
}

// command carries out one key; done means quit.
func (p *player) command(k Key) (done bool, err error) {
	switch k {
	case KeyQuit:
		return true, p.status("quit")
	case KeyPause:
		p.paused = !p.paused
		if p.paused {
			return false, p.status("paused")
		}
		return false, p.status("playing")
	case KeyStep:
		if !p.paused {
			p.paused = true
		}
		if p.next < len(p.r.Events) {
			if err := p.play(); err != nil {
				return false, err
			}
		}
		return false, p.status("step")
	case KeyAhead:
		return false, p.seekStatus(p.t + SeekStep.Seconds())
	case KeyBack:
		return false, p.seekStatus(math.Max(p.t-SeekStep.Seconds(), 0))
	}
	return false, nil
}

// play plays the next event.
func (p *player) play() error {
	e := p.r.Events[p.next]
	p.next++
	p.t = math.Max(p.t, e.Time)
	switch e.Code {
	case "o":
		if _, err := io.WriteString(p.w, e.Data); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
	case "m":
		return p.status("marker: " + p.inert(e.Data))
	}
	return nil
}

func (p *player) seekStatus(to float64) error {
	if err := p.seek(to); err != nil {
		return err
	}
	return p.status("seek")
}

// seek moves to recording time to: ahead by playing what lies between at
// once, back by clearing the screen and replaying from the start.
func (p *player) seek(to float64) error {
	if to < p.t {
		if _, err := io.WriteString(p.w, clearScreen); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		p.next, p.t = 0, 0
	}
	for p.next < len(p.r.Events) && p.r.Events[p.next].Time <= to {
		if err := p.play(); err != nil {
			return err
		}
	}
	p.t = math.Min(to, p.total)
	return nil
}

// status shows what the player is doing and where it is.
func (p *player) status(what string) error {
	line := fmt.Sprintf("%s %s / %s", what, clock(p.t), clock(p.total))
	if what == "paused" || what == "step" {
		line += "  (space: resume, .: step, ←/→: seek 5s, q: quit)"
	}
	var s string
	if p.opts.Status != nil {
		s = p.opts.Status(line)
	} else {
		s = "\r\n\x1b[7m " + line + " \x1b[0m\r\n"
	}
	if _, err := io.WriteString(p.w, s); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	return nil
}

func (p *player) inert(s string) string {
	if p.opts.Inert != nil {
		return p.opts.Inert(s)
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return '?'
		}
		return r
	}, s)
}

// clock formats seconds as m:ss.
func clock(sec float64) string {
	s := int(sec)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
