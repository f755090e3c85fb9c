package server

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
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
type outputPipe struct {
	rec Recording // nil: not recorded (binary protocols such as sftp)
	dst io.Writer
	// mask, when set, masks PHI; it holds back a bounded tail that could
	// still become a match, released by the next write or after idle.
	mask *masking.Stream
	idle time.Duration
	// onFindings audits what the masker replaced, with the position in
	// the recording where the masked output starts.
	onFindings func([]masking.Finding, recorder.Position) error
	// onIdleError reports an error from an idle flush, which runs on a
	// timer rather than in the caller's goroutine.
	onIdleError func(error)
	// keys, on a terminal, counts the keystrokes the client has sent
	// (reads of at most echoChunk bytes). The first small output chunk
	// after a keystroke is its echo and is released at once: a person types
	// far slower than any idle deadline, so holding an echo would only
	// delay it without ever completing a value. Output that follows no
	// keystroke, bulk output above all, keeps the full hold.
	keys *atomic.Uint64

	mu    sync.Mutex // guards the fields below: the reader and the idle timer both deliver
	send  *sender    // delivers to dst; created on first use
	timer *time.Timer
	done  bool
	// partial holds a UTF-8 sequence cut by the read boundary when there
	// is no masker (the masker keeps characters whole itself).
	partial  []byte
	buf      []byte
	out      []byte // masked output, reused between chunks
	seenKeys uint64 // keys when the previous chunk arrived
}

// echoChunk is the largest read treated as a keystroke's echo: one byte,
// or a multi-byte character, or a short escape sequence (an arrow key).
const echoChunk = 4

func (p *outputPipe) write(b []byte) error {
	if p.rec == nil {
		_, err := p.dst.Write(b)
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mask != nil {
		p.out = p.mask.AppendWrite(p.out[:0], b)
		if p.keys != nil {
			// Only the first chunk after a keystroke can be its echo.
			if k := p.keys.Load(); k != p.seenKeys {
				p.seenKeys = k
				if len(b) <= echoChunk {
					p.out = p.mask.AppendFlush(p.out)
				}
			}
		}
		err := p.deliverMasked(p.out)
		p.armIdleFlush()
		return err
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
		return p.deliverMasked(p.mask.Flush())
	}
	b := p.partial
	p.partial = nil
	return p.deliver(b)
}

// armIdleFlush (re)starts the idle timer while the masker holds bytes, so
// a prompt or an echoed digit is never delayed by more than p.idle.
func (p *outputPipe) armIdleFlush() {
	if p.mask.Pending() == 0 {
		if p.timer != nil {
			p.timer.Stop()
		}
		return
	}
	if p.timer == nil {
		p.timer = time.AfterFunc(p.idle, p.idleFlush)
		return
	}
	p.timer.Reset(p.idle)
}

func (p *outputPipe) idleFlush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done || p.mask.Pending() == 0 {
		return
	}
	if err := p.deliverMasked(p.mask.Flush()); err != nil && p.onIdleError != nil {
		p.done = true
		go p.onIdleError(err) // the handler closes channels; not under p.mu
	}
}

func (p *outputPipe) deliverMasked(b []byte) error {
	pos := p.rec.Offset()
	if err := p.deliver(b); err != nil {
		return err
	}
	if f := p.mask.Findings(); len(f) > 0 && p.onFindings != nil {
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
