// Copyright 2026 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package ssh

import (
	"bytes"
	"io"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
)

// TestRecycledPacketsCarryNoStaleData streams data on two channels of one
// connection at once, in writes and reads of odd sizes, while every recycled
// packet is overwritten as it goes back to the pool: a packet recycled
// before all of its data was read would show up as corrupt data, and data
// of one channel in the other.
func TestRecycledPacketsCarryNoStaleData(t *testing.T) {
	var recycled atomic.Int64
	recycleHook = func(p []byte) {
		recycled.Add(1)
		for i := range p {
			p[i] = 0xA5
		}
	}
	defer func() { recycleHook = nil }()

	client, server, err := sshPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	defer server.Close()

	const size = 4 << 20
	streams := [][]byte{make([]byte, size), make([]byte, size)}
	for i, s := range streams {
		rand.New(rand.NewSource(int64(i + 1))).Read(s)
	}

	// The server accepts the channels and writes each its own stream.
	var wg sync.WaitGroup
	go func() {
		for i := range streams {
			newCh, err := server.Accept()
			if err != nil {
				return
			}
			ch, reqs, err := newCh.Accept()
			if err != nil {
				return
			}
			go DiscardRequests(reqs)
			stream := streams[newCh.ExtraData()[0]]
			wg.Add(1)
			go func(ch Channel, seed int64) {
				defer wg.Done()
				defer ch.Close()
				r := rand.New(rand.NewSource(seed))
				for rest := stream; len(rest) > 0; {
					n := min(len(rest), 1+r.Intn(100<<10))
					if _, err := ch.Write(rest[:n]); err != nil {
						t.Errorf("write: %v", err)
						return
					}
					rest = rest[n:]
				}
				ch.CloseWrite()
			}(ch, int64(i))
		}
	}()

	var readers sync.WaitGroup
	for i := range streams {
		ch, reqs, err := client.OpenChannel("stream", []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		go DiscardRequests(reqs)
		readers.Add(1)
		go func(i int, ch Channel) {
			defer readers.Done()
			r := rand.New(rand.NewSource(int64(100 + i)))
			var got bytes.Buffer
			buf := make([]byte, 100<<10)
			for {
				n, err := ch.Read(buf[:1+r.Intn(len(buf))])
				got.Write(buf[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Errorf("channel %d: read: %v", i, err)
					return
				}
			}
			if !bytes.Equal(got.Bytes(), streams[i]) {
				t.Errorf("channel %d: read %d bytes that differ from the %d written", i, got.Len(), size)
			}
		}(i, ch)
	}
	readers.Wait()
	wg.Wait()
	if recycled.Load() == 0 {
		t.Error("no packet was recycled: the test exercises nothing")
	}
}

// TestPacketBufferSizes checks which packets come from the pool: the large
// ones that channel data fills, not the small ones a connection mostly reads
// otherwise, which would hold a pooled buffer each.
func TestPacketBufferSizes(t *testing.T) {
	for _, tc := range []struct {
		n      int
		pooled bool
	}{
		{1, false},
		{minPooledPacket - 1, false},
		{minPooledPacket, true},
		{channelMaxPacket + 13, true},
		{pooledPacketSize, true},
		{pooledPacketSize + 1, false},
		{maxPacket, false},
	} {
		p := newPacketBuffer(tc.n)
		if len(p) != tc.n {
			t.Errorf("newPacketBuffer(%d): length %d", tc.n, len(p))
		}
		if pooled := cap(p) == pooledPacketSize; pooled != tc.pooled {
			t.Errorf("newPacketBuffer(%d): pooled %v, want %v", tc.n, pooled, tc.pooled)
		}
	}
}
