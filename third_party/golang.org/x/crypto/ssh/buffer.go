// Copyright 2012 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package ssh

import (
	"io"
	"sync"
)

// buffer provides a linked list buffer for data exchange
// between producer and consumer. Theoretically the buffer is
// of unlimited capacity as it does no allocation of its own.
type buffer struct {
	// protects concurrent access to head, tail and closed
	*sync.Cond

	head *element // the buffer that will be read first
	tail *element // the buffer that will be read last

	closed bool
}

// An element represents a single link in a linked list.
type element struct {
	buf  []byte
	next *element
	// packet, if set, is the pooled packet buf is part of: it goes back to
	// packetPool once buf has been read.
	packet []byte
}

// newBuffer returns an empty buffer that is not closed.
func newBuffer() *buffer {
	e := new(element)
	b := &buffer{
		Cond: newCond(),
		head: e,
		tail: e,
	}
	return b
}

// write makes buf available for Read to receive.
// buf must not be modified after the call to write.
func (b *buffer) write(buf []byte) { b.writePacket(buf, nil) }

// writePacket is write for data that is part of a packet from
// newPacketBuffer; the packet is recycled once its data has been read.
func (b *buffer) writePacket(buf, packet []byte) {
	b.Cond.L.Lock()
	e := &element{buf: buf, packet: packet}
	b.tail.next = e
	b.tail = e
	b.Cond.Signal()
	b.Cond.L.Unlock()
}

// eof closes the buffer. Reads from the buffer once all
// the data has been consumed will receive io.EOF.
func (b *buffer) eof() {
	b.Cond.L.Lock()
	b.closed = true
	b.Cond.Signal()
	b.Cond.L.Unlock()
}

// Read reads data from the internal buffer in buf.  Reads will block
// if no data is available, or until the buffer is closed.
func (b *buffer) Read(buf []byte) (n int, err error) {
	b.Cond.L.Lock()
	defer b.Cond.L.Unlock()

	for len(buf) > 0 {
		// if there is data in b.head, copy it
		if len(b.head.buf) > 0 {
			r := copy(buf, b.head.buf)
			buf, b.head.buf = buf[r:], b.head.buf[r:]
			n += r
			continue
		}
		// if there is a next buffer, make it the head
		if len(b.head.buf) == 0 && b.head != b.tail {
			recyclePacket(b.head.packet)
			b.head.packet = nil
			b.head = b.head.next
			continue
		}

		// if at least one byte has been copied, return
		if n > 0 {
			break
		}

		// if nothing was read, and there is nothing outstanding
		// check to see if the buffer is closed.
		if b.closed {
			err = io.EOF
			break
		}
		// out of buffers, wait for producer
		b.Cond.Wait()
	}
	return
}

// pooledPacketSize is the capacity of pooled packet buffers: a full channel
// data packet with its header.
const pooledPacketSize = channelMaxPacket + 64

// minPooledPacket is the size from which packets are pooled: the small ones
// (window adjustments, requests) are cheap to allocate and rarely recycled.
const minPooledPacket = 4 << 10

var packetPool = sync.Pool{New: func() any {
	b := make([]byte, pooledPacketSize)
	return &b
}}

// newPacketBuffer returns a buffer of n bytes for a packet read from the
// wire, from the pool when it fits.
func newPacketBuffer(n int) []byte {
	if n < minPooledPacket || n > pooledPacketSize {
		return make([]byte, n)
	}
	return (*packetPool.Get().(*[]byte))[:n]
}

// recyclePacket returns a packet from newPacketBuffer to the pool. Only a
// packet nothing else refers to may be recycled.
func recyclePacket(p []byte) {
	if cap(p) != pooledPacketSize {
		return
	}
	p = p[:cap(p)]
	if recycleHook != nil {
		recycleHook(p)
	}
	packetPool.Put(&p)
}

// recycleHook, if set, sees every packet as it goes back to the pool. Tests
// overwrite recycled packets with it, so that a packet recycled while its
// data is still to be read shows up as corrupt data.
var recycleHook func([]byte)
