package server

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"
)

// slowWriter records what it is given, slowly, and can fail after a limit.
type slowWriter struct {
	mu     sync.Mutex
	got    bytes.Buffer
	writes int
	delay  time.Duration
	limit  int // fail once got would exceed this (0: never)
	inside int // writes in progress, to catch overlapping calls
	maxIn  int
}

var errClientGone = errors.New("client gone")

func (w *slowWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.inside++
	w.maxIn = max(w.maxIn, w.inside)
	w.mu.Unlock()
	time.Sleep(w.delay)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inside--
	w.writes++
	if w.limit > 0 && w.got.Len()+len(p) > w.limit {
		return 0, errClientGone
	}
	return w.got.Write(p)
}

// Bulk and interactive chunks, mixed, arrive whole, in order, one write at
// a time, and wait returns only when all of them are out.
func TestSenderKeepsOrder(t *testing.T) {
	w := &slowWriter{delay: 200 * time.Microsecond}
	s := newSender(w)
	var want bytes.Buffer
	for i := range 200 {
		size := 1 + i*997%(3*sendInlineMax)
		chunk := bytes.Repeat([]byte{byte('a' + i%26)}, size)
		want.Write(chunk)
		if err := s.write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.wait(); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !bytes.Equal(w.got.Bytes(), want.Bytes()) {
		t.Fatalf("client got %d bytes, not the %d sent in order", w.got.Len(), want.Len())
	}
	if w.maxIn != 1 {
		t.Errorf("%d writes to the client overlapped", w.maxIn)
	}
}

// A caller that writes faster than the client reads is held back once
// sendQueueMax chunks wait: memory stays bounded.
func TestSenderBlocksWhenQueueFull(t *testing.T) {
	release := make(chan struct{})
	w := &gateWriter{release: release}
	s := newSender(w)
	chunk := make([]byte, sendInlineMax+1)
	done := make(chan int)
	go func() {
		n := 0
		for range sendQueueMax + 3 {
			if s.write(chunk) != nil {
				break
			}
			n++
			done <- n
		}
		close(done)
	}()
	// The goroutine's first write blocks in the client; sendQueueMax more
	// can queue behind it, and the next must wait.
	for want := 1; want <= sendQueueMax+1; want++ {
		if got := <-done; got != want {
			t.Fatalf("write %d returned as %d", want, got)
		}
	}
	select {
	case n := <-done:
		t.Fatalf("write %d returned while the queue was full", n)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	for range done {
	}
	if err := s.wait(); err != nil {
		t.Fatal(err)
	}
}

type gateWriter struct{ release chan struct{} }

func (g *gateWriter) Write(p []byte) (int, error) {
	<-g.release
	return len(p), nil
}

// A client that goes away fails the next write and wait, and nothing is
// written after the failure.
func TestSenderReportsClientError(t *testing.T) {
	w := &slowWriter{limit: 3 * sendInlineMax}
	s := newSender(w)
	chunk := make([]byte, 2*sendInlineMax)
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		err = s.write(chunk)
	}
	if werr := s.wait(); !errors.Is(werr, errClientGone) {
		t.Fatalf("wait = %v, want the client's error", werr)
	}
	if err := s.write([]byte("x")); !errors.Is(err, errClientGone) {
		t.Errorf("write after failure = %v", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.got.Len() != 2*sendInlineMax || w.writes != 2 {
		t.Errorf("client got %d bytes in %d writes, want one chunk then the failed write", w.got.Len(), w.writes)
	}
}

// Interactive output is written before write returns: no hand-off delays
// a keystroke's echo.
func TestSenderWritesSmallChunksInline(t *testing.T) {
	var got bytes.Buffer
	s := newSender(&got)
	if err := s.write([]byte("$ ")); err != nil {
		t.Fatal(err)
	}
	if got.String() != "$ " {
		t.Errorf("after write returned the client has %q", got.String())
	}
}

// A caller of handOff owns only what handOff leaves it: it overwrites the
// spare it gets (and a chunk not taken) at once, as the output pipe's
// masker does with its next chunk. The client must still get every chunk
// as it was given, whole and in order: a buffer still queued that was
// handed back, or a chunk kept that was taken, would show here as
// scribbled bytes.
func TestSenderHandOffBuffersAreNotShared(t *testing.T) {
	w := &slowWriter{delay: 100 * time.Microsecond}
	s := newSender(w)
	var want bytes.Buffer
	var buf []byte
	taken := 0
	for i := range 300 {
		size := 1 + i*7919%(4*sendInlineMax)
		buf = append(buf[:0], bytes.Repeat([]byte{byte('a' + i%26)}, size)...)
		want.Write(buf)
		spare, ok, err := s.handOff(s.dst, buf)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			taken++
			buf = spare
		}
		scribble := buf[:cap(buf)]
		for k := range scribble {
			scribble[k] = 'X'
		}
	}
	if err := s.wait(); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !bytes.Equal(w.got.Bytes(), want.Bytes()) {
		t.Fatalf("client got %d bytes (%d scribbled), not the %d given in order",
			w.got.Len(), bytes.Count(w.got.Bytes(), []byte("X")), want.Len())
	}
	if taken == 0 {
		t.Fatal("no chunk was handed off: the test did not exercise handOff")
	}
}
