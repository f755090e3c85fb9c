package server

import (
	"io"
	"sync"
)

// Sizes for a sender.
const (
	// sendInlineMax is the largest chunk written in the caller's goroutine
	// when nothing is in flight: interactive output (a keystroke's echo, a
	// prompt) is sent at once, without a hand-off to another goroutine.
	sendInlineMax = 4 << 10
	// sendQueueMax is how many chunks may wait behind the one being sent,
	// which bounds the memory of a fast stream to a slow client.
	sendQueueMax = 2
)

// sender writes recorded output to the client: one stream's, or several
// streams' in one order (see clientTerminal). Bulk output is
// handed to a goroutine that runs only while there is a backlog, so that
// masking and recording the next chunk overlaps with encrypting and
// sending this one; without it one goroutine would do all three in turn
// and set the pace of every download. Chunks are sent in the order given,
// and a chunk reaches a sender only once it is recorded.
type sender struct {
	dst io.Writer

	mu      sync.Mutex
	cond    sync.Cond // signalled whenever sending or the queue changes
	queue   []queued  // chunks waiting, oldest first
	spare   [][]byte  // buffers of sent chunks, for reuse
	sending bool      // a write to dst is in progress
	running bool      // the goroutine is draining the queue
	err     error     // the first write error; every later call returns it
}

// queued is a chunk waiting to be written to dst.
type queued struct {
	dst io.Writer
	b   []byte
}

func newSender(dst io.Writer) *sender {
	s := &sender{dst: dst}
	s.cond.L = &s.mu
	return s
}

// write sends b, or queues a copy of it. It blocks while the queue is
// full, so a slow client slows the stream down instead of growing memory.
func (s *sender) write(b []byte) error { return s.writeTo(s.dst, b) }

// writeTo is write to another destination, in the same order as every
// other chunk given to s.
func (s *sender) writeTo(dst io.Writer, b []byte) error {
	_, _, err := s.send(dst, b, false)
	return err
}

// handOff is writeTo for a buffer the caller may give up: a chunk that is
// queued is queued as it is, not copied (a bulk download would otherwise
// copy every byte once more). Then taken is true, b is no longer the
// caller's, and spare is the buffer of a chunk already sent, or nil, for
// the caller's next chunk. A chunk written at once, or refused, stays the
// caller's.
func (s *sender) handOff(dst io.Writer, b []byte) (spare []byte, taken bool, err error) {
	return s.send(dst, b, true)
}

// send is writeTo, and with give handOff.
func (s *sender) send(dst io.Writer, b []byte, give bool) (spare []byte, taken bool, err error) {
	if len(b) == 0 {
		return nil, false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, false, s.err
	}
	if len(b) <= sendInlineMax && !s.sending && len(s.queue) == 0 {
		s.spare = nil // interactive again: keep no bulk buffers
		s.sending = true
		s.mu.Unlock()
		_, err := dst.Write(b)
		s.mu.Lock()
		s.sent(err)
		return nil, false, err
	}
	for len(s.queue) >= sendQueueMax && s.err == nil {
		s.cond.Wait()
	}
	if s.err != nil {
		return nil, false, s.err
	}
	if n := len(s.spare); n > 0 {
		spare, s.spare = s.spare[n-1][:0], s.spare[:n-1]
	}
	if !give {
		b, spare = append(spare, b...), nil
	}
	s.queue = append(s.queue, queued{dst, b})
	if !s.running {
		s.running = true
		go s.drain()
	}
	return spare, give, nil
}

// sent ends a write to dst; s.mu is held.
func (s *sender) sent(err error) {
	s.sending = false
	if err != nil && s.err == nil {
		s.err = err
	}
	s.cond.Broadcast()
}

// drain sends the queue until it is empty, then exits.
func (s *sender) drain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		for s.sending {
			s.cond.Wait()
		}
		if len(s.queue) == 0 || s.err != nil {
			s.queue = nil
			s.running = false
			s.cond.Broadcast()
			return
		}
		q := s.queue[0]
		s.queue = s.queue[1:]
		s.sending = true
		s.cond.Broadcast() // there is room in the queue
		s.mu.Unlock()
		_, err := q.dst.Write(q.b)
		s.mu.Lock()
		if len(s.spare) < sendQueueMax {
			s.spare = append(s.spare, q.b)
		}
		s.sent(err)
	}
}

// wait blocks until everything given to write has been sent, or a write
// failed, and returns the first write error. It releases the buffers.
func (s *sender) wait() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.running || s.sending {
		s.cond.Wait()
	}
	s.spare = nil
	return s.err
}
