package server

import (
	"errors"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bastion-ssh/bastion/masking"
	"github.com/bastion-ssh/bastion/recorder"
)

// errRecording marks a failure to write the recording: the session must
// end (fail closed), unlike a client that merely went away.
type errRecording struct{ err error }

func (e *errRecording) Error() string { return "recording: " + e.err.Error() }
func (e *errRecording) Unwrap() error { return e.err }

// outputPipe carries one output stream (stdout, stderr or pty) from the
// target to the client: mask, then record, then deliver. Each chunk goes
// to the recording first and to the client only once the recording
// accepted it (recorded before seen); both only ever get masked bytes.
//
// The one exception is the echo of typing on a terminal: output that is
// exactly the echo of bytes the client just typed (see keystrokes) goes to
// the client at once, ahead of the recording; it still passes the masker,
// and reaches the recording masked, with the text around it, as soon as
// the masker decides it and at the latest at the hold deadline.
type outputPipe struct {
	rec Recording // nil: not recorded (binary protocols such as sftp)
	dst io.Writer
	// mask, when set, masks PHI; it holds back a tail that could still
	// become a value until it is decided or its deadline passes, and then
	// releases it masked (see masking.Paced).
	mask *masking.Paced
	// term, with mask, is the client's terminal the session's streams
	// share: its screen model masks the bytes that would complete a value
	// on the screen, and one sender keeps the client's order the model's.
	term *clientTerminal
	// now is the clock; nil means time.Now.
	now func() time.Time
	// onFindings audits what the masker replaced, with the position in
	// the recording where the masked output starts.
	onFindings func([]masking.Finding, recorder.Position) error
	// onIdleError reports an error from a timed release, which runs on a
	// timer rather than in the caller's goroutine.
	onIdleError func(error)
	// keys, on a terminal, holds the bytes the client typed and the
	// target has not echoed yet.
	keys *keystrokes

	mu    sync.Mutex // guards the fields below: the reader and the timer both deliver
	send  *sender    // delivers to dst; created on first use
	timer *time.Timer
	done  bool
	// partial holds a UTF-8 sequence cut by the read boundary when there
	// is no masker (the masker keeps characters whole itself).
	partial []byte
	buf     []byte
	out     []byte // masked output, reused between chunks
	// Offsets in the stream (the masker keeps lengths in the same-length
	// style, so input and output offsets agree): inOff bytes went into the
	// masker, outOff came out of it, and the client has everything before
	// sentTo (more than outOff while an echo went ahead).
	inOff, outOff, sentTo int64
}

func (p *outputPipe) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

func (p *outputPipe) write(b []byte) error {
	if p.rec == nil {
		_, err := p.dst.Write(b)
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mask != nil {
		return p.writeMasked(b)
	}
	if len(p.partial) > 0 {
		p.buf = append(append(p.buf[:0], p.partial...), b...)
		b = p.buf
		p.partial = p.partial[:0]
	}
	n := completeUTF8(b)
	if n < len(b) {
		p.partial = append(p.partial, b[n:]...)
		b = b[:n]
	}
	return p.deliver(b)
}

// writeMasked masks b and delivers what the masker releases; p.mu is held.
func (p *outputPipe) writeMasked(b []byte) error {
	now := p.clock()
	// A deadline that passed before this output arrived applies first.
	if err := p.deliverMasked(p.mask.AppendTick(p.out[:0], now)); err != nil {
		return err
	}
	// An echo may go ahead only when the client has everything before it.
	if p.keys != nil && p.mask.Stream().SameLength() && p.sentTo == p.inOff && p.keys.takeEcho(b) {
		unlock := p.lockTerm()
		err := p.sendClient(b)
		unlock()
		if err != nil {
			return err
		}
		p.sentTo += int64(len(b))
	}
	p.inOff += int64(len(b))
	p.out = p.mask.AppendWrite(p.out[:0], now, b)
	err := p.deliverMasked(p.out)
	p.arm(now)
	return err
}

// flush delivers whatever is held at the end of the stream.
func (p *outputPipe) flush() error {
	if p.rec == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = true
	if p.timer != nil {
		p.timer.Stop()
	}
	if p.mask != nil {
		// A tail this stream would release at its end may be completed on
		// the screen by another stream writing at the same time: masked.
		closed := false
		if p.term != nil {
			p.term.mu.Lock()
			closed = p.term.othersActive(p.dst, p.clock(), p.mask.Stream().HoldDeadline())
			p.term.mu.Unlock()
		}
		if closed {
			return p.deliverMasked(p.mask.AppendFlushClosed(p.out[:0]))
		}
		return p.deliverMasked(p.mask.AppendFlush(p.out[:0]))
	}
	b := p.partial
	p.partial = nil
	return p.deliver(b)
}

// arm sets the timer for the masker's next timed release, if any.
func (p *outputPipe) arm(now time.Time) {
	due, ok := p.mask.Due()
	if !ok {
		if p.timer != nil {
			p.timer.Stop()
		}
		return
	}
	d := max(due.Sub(now), 0)
	if p.timer == nil {
		p.timer = time.AfterFunc(d, p.tick)
		return
	}
	p.timer.Reset(d)
}

// tick runs a timed release: a held tail at its deadline (masked), or an
// incomplete character after the idle delay.
func (p *outputPipe) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	now := p.clock()
	if err := p.deliverMasked(p.mask.AppendTick(p.out[:0], now)); err != nil {
		p.done = true
		if p.onIdleError != nil {
			go p.onIdleError(err) // the handler closes channels; not under p.mu
		}
		return
	}
	p.arm(now)
}

// deliverMasked records b, the masker's next output, and sends the client
// the part it has not had ahead as an echo.
func (p *outputPipe) deliverMasked(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	unlock := p.lockTerm()
	defer unlock()
	start := p.outOff
	p.outOff += int64(len(b))
	var onScreen []masking.Finding
	if p.term != nil {
		if p.term.lastDst != p.dst {
			p.term.screen.Interleave() // the other stream wrote last
			p.term.lastDst = p.dst
		}
		onScreen = p.term.screen.Mask(b, start)
		p.term.noteSent(p.dst, p.clock())
	}
	pos := p.rec.Offset()
	if err := p.rec.Output(b); err != nil {
		return &errRecording{err}
	}
	if skip := p.sentTo - start; skip < int64(len(b)) {
		// b is p.out's, or the masker's output grown past it: either way
		// the sender may keep it, and p.out becomes the buffer it gives.
		spare, taken, err := p.handClient(b[max(skip, 0):])
		if err != nil {
			return err
		}
		if taken {
			p.out = spare
		}
	}
	p.sentTo = max(p.sentTo, p.outOff)
	if f := append(p.mask.Findings(), onScreen...); len(f) > 0 && p.onFindings != nil {
		if err := p.onFindings(f, pos); err != nil {
			return &errRecording{err}
		}
	}
	return nil
}

func (p *outputPipe) deliver(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if err := p.rec.Output(b); err != nil {
		return &errRecording{err}
	}
	return p.sendClient(b)
}

// lockTerm orders this stream's screen model update, recording and
// sending with the other streams on the same terminal; it returns the
// unlock.
func (p *outputPipe) lockTerm() func() {
	if p.term == nil {
		return func() {}
	}
	p.term.mu.Lock()
	return p.term.mu.Unlock
}

// handClient is sendClient for a chunk of masked output the pipe gives up
// (see sender.handOff).
func (p *outputPipe) handClient(b []byte) (spare []byte, taken bool, err error) {
	if p.term != nil {
		return p.term.send.handOff(p.dst, b)
	}
	if p.send == nil {
		p.send = newSender(p.dst)
	}
	return p.send.handOff(p.dst, b)
}

func (p *outputPipe) sendClient(b []byte) error {
	if p.term != nil {
		return p.term.send.writeTo(p.dst, b)
	}
	if p.send == nil {
		p.send = newSender(p.dst)
	}
	return p.send.write(b)
}

// waitSent waits until everything delivered has reached the client (or
// failed to) and returns the first error writing to the client.
func (p *outputPipe) waitSent() error {
	p.mu.Lock()
	send := p.send
	if p.term != nil {
		send = p.term.send
	}
	p.mu.Unlock()
	if send == nil {
		return nil
	}
	return send.wait()
}

// copyOutput pumps src through p until EOF or an error, and returns once
// everything delivered has been sent.
func copyOutput(p *outputPipe, src io.Reader) (err error) {
	defer func() {
		if werr := p.waitSent(); err == nil {
			err = werr
		}
	}()
	buf := make([]byte, copyBufferStart)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if werr := p.write(buf[:n]); werr != nil {
				return werr
			}
			buf = growBuffer(buf, n)
		}
		if errors.Is(err, io.EOF) {
			return p.flush()
		}
		if err != nil {
			return err
		}
	}
}

// completeUTF8 returns the length of b without a trailing UTF-8 sequence
// that is valid so far but incomplete. Invalid bytes are not held: they
// can never become valid, and holding them would delay binary output.
func completeUTF8(b []byte) int {
	for i := 1; i <= utf8.UTFMax-1 && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < 0x80 {
			return len(b) // ASCII: nothing incomplete after it
		}
		if c >= 0xC0 { // a leading byte
			if !utf8.FullRune(b[len(b)-i:]) {
				return len(b) - i
			}
			return len(b)
		}
	}
	return len(b)
}

// Sizes of the buffers copyInput and copyOutput read into.
const (
	// copyBufferStart is one packet (x/crypto/ssh's channelMaxPacket):
	// enough for interactive traffic, and all an idle session holds.
	copyBufferStart = 32 << 10
	// copyBufferMax is the size for bulk transfers.
	copyBufferMax = 256 << 10
)

// growBuffer returns the buffer for the read after one that returned n
// bytes into buf. It grows for good once a read fills it (bulk traffic: a
// full packet or more was waiting); interactive sessions keep the small
// one. A read of a channel returns whatever packets are queued, so a
// larger buffer never waits for more data; it only takes more at once.
//
// Input: x/crypto/ssh settles the client's window on each read of a
// channel, and sends a window adjust whenever more than three packets'
// worth is outstanding (channel.go, adjustWindow), which is always the
// case while an upload streams: one more packet, and one more write on
// the client's connection, per read. With 32 KiB reads that is one per
// packet of data; with 256 KiB reads, one per eight.
//
// Output: each read is masked, recorded as one event (a file write and a
// hash-chain step) and then sent, so larger reads mean fewer events and
// fewer system calls per byte.
func growBuffer(buf []byte, n int) []byte {
	if n == len(buf) && len(buf) < copyBufferMax {
		return make([]byte, copyBufferMax)
	}
	return buf
}
