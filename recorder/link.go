package recorder

import (
	"crypto/sha256"
	"hash"
)

// parallelLinkMin is the line length from which the next link of the hash
// chain is computed on another goroutine while the line is written. Both
// cost about the same per byte (SHA-256 with SHA-NI about 0.5 ns, a write
// to the page cache 0.5-1 ns), so a large event then takes the longer of
// the two instead of their sum. Below it the hand-over costs more than it
// saves: an interactive session's events are a few bytes.
const parallelLinkMin = 64 << 10

// chainLink sets *next to the link that follows *prev for line:
// SHA-256(prev || line). next may be prev. (Pointers, so that the hash's
// interface calls make nothing escape: an event allocates nothing.)
func chainLink(h hash.Hash, prev *[sha256.Size]byte, line []byte, next *[sha256.Size]byte) {
	h.Reset()
	h.Write(prev[:])
	h.Write(line)
	h.Sum(next[:0])
}

// A linker computes links of the hash chain on its own goroutine. The
// Writer that starts it owns it: it hands over one line at a time and
// waits for the link before it touches the line or hands over another, and
// stops it at Close. The channels order the accesses to prev, line and
// next.
type linker struct {
	prev, next [sha256.Size]byte
	line       []byte
	h          hash.Hash
	start      chan struct{} // a line is in prev and line; closed to stop
	linked     chan struct{} // its link is in next
	done       chan struct{} // closed when the goroutine has returned
}

func startLinker() *linker {
	l := &linker{
		h:      sha256.New(),
		start:  make(chan struct{}),
		linked: make(chan struct{}),
		done:   make(chan struct{}),
	}
	go func() {
		defer close(l.done)
		for range l.start {
			chainLink(l.h, &l.prev, l.line, &l.next)
			l.line = nil
			l.linked <- struct{}{}
		}
	}()
	return l
}

// stop ends the linker's goroutine and waits for it.
func (l *linker) stop() {
	close(l.start)
	<-l.done
}

// appendChainedLocked writes line, as appendLocked does, and on success
// extends the hash chain with it. The chain is never extended by a line that
// was not written.
func (w *Writer) appendChainedLocked(line []byte) error {
	if len(line) < parallelLinkMin {
		if err := w.appendLocked(line); err != nil {
			return err
		}
		chainLink(w.h, &w.chain, line, &w.chain)
		return nil
	}
	if w.linker == nil {
		w.linker = startLinker()
	}
	l := w.linker
	l.prev, l.line = w.chain, line
	l.start <- struct{}{}
	err := w.appendLocked(line)
	<-l.linked
	if err != nil {
		return err
	}
	w.chain = l.next
	return nil
}
