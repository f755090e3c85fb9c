package server

import (
	"context"
	"strings"
	"time"
	"unicode"
)

// keepaliveInterval is how often a client waiting on a held command gets a
// keepalive@openssh.com request, so that idle timeouts on the way (NAT,
// the bastion's own) do not end the connection while a reviewer decides.
const keepaliveInterval = 15 * time.Second

// runJudge asks the command judge, keeping the connection alive while it
// blocks (a command held for review).
func (ss *session) runJudge(ctx context.Context, judge CommandJudge, r CommandRequest) (CommandVerdict, error) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // owned here: runJudge waits for it below
		defer close(done)
		t := time.NewTicker(keepaliveInterval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ss.ctx.Done():
				return
			case <-t.C:
				if c := ss.cs.serverConn(); c != nil {
					// The reply is the traffic; a failure means the client
					// is gone, which ends ctx.
					_, _, _ = c.SendRequest("keepalive@openssh.com", true, nil)
				}
			}
		}
	}()
	v, err := judge(ctx, r)
	close(stop)
	<-done
	return v, err
}

// writeMarkers records the command's decisions before any of its output,
// each as a marker ("m") and as an output line, so that a replay, and any
// asciicast player, shows who let it run. The notice is shown to the
// client after it is recorded.
func (ss *session) writeMarkers() error {
	for _, m := range ss.markers {
		m = oneLine(m)
		if err := ss.rec.Marker(m); err != nil {
			return err
		}
		if err := ss.rec.Output([]byte("bastion: " + m + ss.newline())); err != nil {
			return err
		}
	}
	if ss.notice != "" {
		_, _ = ss.ch.Stderr().Write([]byte("bastion: " + oneLine(ss.notice) + ss.newline())) // a client gone is seen by the proxy
	}
	return nil
}

// oneLine makes s safe to show on one line of the client's terminal:
// control characters become spaces, and it is bounded.
func oneLine(s string) string {
	const max = 512
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "..."
	}
	return s
}
