package server

import (
	"errors"
	"io"
	"unicode/utf8"
)

// errRecording marks a failure to write the recording: the session must
// end (fail closed), unlike a client that merely went away.
type errRecording struct{ err error }

func (e *errRecording) Error() string { return "recording: " + e.err.Error() }
func (e *errRecording) Unwrap() error { return e.err }

// outputPipe carries one output stream (stdout, stderr or pty) from the
// target to the client. Each chunk goes to the recording first and to the
// client only once the recording accepted it: recorded before seen.
type outputPipe struct {
	rec Recording // nil: not recorded (binary protocols such as sftp)
	dst io.Writer
	// partial holds a UTF-8 sequence cut by the read boundary, so that the
	// recording (JSON text) never splits a character. It is held back from
	// the client as well: the client never sees a byte not yet recorded.
	partial []byte
	buf     []byte
}

func (p *outputPipe) write(b []byte) error {
	if p.rec == nil {
		_, err := p.dst.Write(b)
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
	if len(p.partial) == 0 {
		return nil
	}
	b := p.partial
	p.partial = nil
	return p.deliver(b)
}

func (p *outputPipe) deliver(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if err := p.rec.Output(b); err != nil {
		return &errRecording{err}
	}
	_, err := p.dst.Write(b)
	return err
}

// copyOutput pumps src through p until EOF or an error.
func copyOutput(p *outputPipe, src io.Reader) error {
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if werr := p.write(buf[:n]); werr != nil {
				return werr
			}
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
