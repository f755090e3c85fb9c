package server

import (
	"io"
	"sync"
	"time"

	"github.com/bastion-ssh/bastion/masking"
)

// clientTerminal is the client's terminal as a session's output streams
// (stdout and stderr) share it. Each stream updates the screen model,
// records and queues its masked output under mu, and one sender writes the
// queue in that order: the client sees the streams interleaved exactly as
// the model read them, so a value split between stdout and stderr is seen.
type clientTerminal struct {
	mu     sync.Mutex
	screen *masking.Screen
	send   *sender
	last   map[io.Writer]time.Time // when each stream last sent output
	// lastDst is the stream whose output the model read last.
	lastDst io.Writer
}

// noteSent records that dst was sent output at now; mu is held.
func (t *clientTerminal) noteSent(dst io.Writer, now time.Time) {
	if t.last == nil {
		t.last = map[io.Writer]time.Time{}
	}
	t.last[dst] = now
}

// othersActive reports whether a stream other than dst sent output within
// d before now; mu is held. The client may show two streams' output that
// arrive together in either order.
func (t *clientTerminal) othersActive(dst io.Writer, now time.Time, d time.Duration) bool {
	for w, at := range t.last {
		if w != dst && now.Sub(at) < d {
			return true
		}
	}
	return false
}

// newClientTerminal returns the terminal of a session: the screen model
// has the size the client's terminal had when the session started, or the
// default size without a pty.
func newClientTerminal(m *masking.Masker, pty *ptyRequest) *clientTerminal {
	t := &clientTerminal{screen: m.NewScreen(0, 0), send: newSender(nil)}
	if pty != nil {
		t.screen = m.NewScreen(int(pty.Cols), int(pty.Rows))
	}
	return t
}
