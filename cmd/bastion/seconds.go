package main

import (
	"fmt"
	"strconv"
	"time"
)

// secondsFlag is a duration flag that also takes a bare number as
// seconds, as asciinema's --idle-time-limit does (--idle-limit 2).
type secondsFlag struct{ d *time.Duration }

func (f secondsFlag) String() string {
	if f.d == nil {
		return "0s"
	}
	return f.d.String()
}

func (f secondsFlag) Set(s string) error {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 {
			return fmt.Errorf("%q: must not be negative", s)
		}
		*f.d = time.Duration(n * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("%q: want seconds (2, 0.5) or a duration (2s, 500ms)", s)
	}
	*f.d = d
	return nil
}
