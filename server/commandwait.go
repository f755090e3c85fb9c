package server

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"
)

// keepaliveInterval is how often a client waiting on a held command gets a
// keepalive@openssh.com request, so that idle timeouts on the way (NAT,
// the bastion's own) do not end the connection while a reviewer decides.
const keepaliveInterval = 15 * time.Second

// channelProbeInterval is how often a held command's channel is checked:
// a client that closes the channel but keeps its connection (a
// ControlMaster, Ctrl-C in a multiplexed ssh) withdraws the request.
const channelProbeInterval = 2 * time.Second

// errChannelClosed is the cause when the client closed a held command's channel.
var errChannelClosed = errors.New("the client closed the channel")

// runJudge asks the command judge, keeping the connection alive while it
// blocks (a command held for review), and ending the judge's context when
// the client closes the channel.
func (ss *session) runJudge(ctx context.Context, judge CommandJudge, r CommandRequest) (CommandVerdict, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // owned here: runJudge waits for it below
		defer close(done)
		keepalive := time.NewTicker(ss.keepaliveEvery())
		defer keepalive.Stop()
		probe := time.NewTicker(min(channelProbeInterval, ss.keepaliveEvery()))
		defer probe.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-keepalive.C:
				if c := ss.cs.serverConn(); c != nil {
					// The reply is the traffic; a failure means the client
					// is gone, which ends ctx.
					_, _, _ = c.SendRequest("keepalive@openssh.com", true, nil)
				}
			case <-probe.C:
				// x/crypto/ssh answers a peer's close at once and then
				// refuses to send on the channel: that refusal is the sign.
				// OpenSSH ignores an unknown request that wants no reply.
				if _, err := ss.ch.SendRequest("keepalive@openssh.com", false, nil); err != nil {
					cancel(errChannelClosed)
					return
				}
			}
		}
	}()
	v, err := judge(ctx, r)
	close(stop)
	<-done
	return v, err
}

// keepaliveEvery is keepaliveInterval, or a third of the idle timeout when
// that is shorter, so that a held command never looks idle.
func (ss *session) keepaliveEvery() time.Duration {
	if idle := ss.s.cfg.IdleTimeout; idle > 0 && idle/3 < keepaliveInterval {
		return max(idle/3, time.Millisecond)
	}
	return keepaliveInterval
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
