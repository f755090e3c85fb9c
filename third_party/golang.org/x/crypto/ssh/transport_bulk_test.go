// Copyright 2026 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package ssh

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"fmt"
	"io"
	mathrand "math/rand"
	"testing"
)

// countingWriter counts the calls to Write, as each is a system call on a
// connection.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// TestAEADPacketInOneWrite checks that the AEAD ciphers hand each packet to
// the writer in one call, whatever its size and the size of the one
// before (the cipher reuses its buffer), and that each reads back whole.
func TestAEADPacketInOneWrite(t *testing.T) {
	sizes := []int{1, 100, channelMaxPacket + 9, 4000, 4096, 20000, 1, channelMaxPacket + 9}
	for _, cipher := range []string{CipherAES128GCM, CipherAES256GCM, CipherChaCha20Poly1305} {
		t.Run(cipher, func(t *testing.T) {
			kr := &kexResult{Hash: crypto.SHA256}
			algs := DirectionAlgorithms{Cipher: cipher, MAC: HMACSHA256, compression: compressionNone}
			w, err := newPacketCipher(clientKeys, algs, kr)
			if err != nil {
				t.Fatal(err)
			}
			r, err := newPacketCipher(clientKeys, algs, kr)
			if err != nil {
				t.Fatal(err)
			}
			for seq, n := range sizes {
				want := make([]byte, n)
				rand.Read(want)
				var out countingWriter
				if err := w.writeCipherPacket(uint32(seq), &out, rand.Reader, bytes.Clone(want)); err != nil {
					t.Fatal(err)
				}
				if out.writes != 1 {
					t.Errorf("packet %d of %d bytes: %d writes, want 1", seq, n, out.writes)
				}
				got, err := r.readCipherPacket(uint32(seq), &out)
				if err != nil {
					t.Fatalf("packet %d of %d bytes: %v", seq, n, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("packet %d of %d bytes: read back differs", seq, n)
				}
				if out.Len() != 0 {
					t.Fatalf("packet %d of %d bytes: %d bytes left after it", seq, n, out.Len())
				}
			}
		})
	}
}

// TestReadBufferGrowsForBulk checks that a connection moves to the larger
// read buffer once it carries bulk data, and loses no byte doing so (the
// start of the packets after a large one is often in the old buffer
// already), while one that carries only small packets keeps the small one.
func TestReadBufferGrowsForBulk(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		rng := mathrand.New(mathrand.NewSource(seed))
		var small, bulk [][]byte
		for i := 0; i < 100; i++ {
			small = append(small, packetOf(rng, 1+rng.Intn(200)))
		}
		for i := 0; i < 100; i++ {
			n := 1 + rng.Intn(300)
			if i%3 == 2 {
				n = bulkPacketSize + rng.Intn(channelMaxPacket-bulkPacketSize)
			}
			bulk = append(bulk, packetOf(rng, n))
		}
		t.Run(fmt.Sprintf("small-%d", seed), func(t *testing.T) { testReadBuffer(t, rng, small, 4096) })
		t.Run(fmt.Sprintf("bulk-%d", seed), func(t *testing.T) { testReadBuffer(t, rng, bulk, bulkReadSize) })
	}
}

// testReadBuffer writes packets to a connection, reads them back and
// checks the size of the read buffer at the end.
func testReadBuffer(t *testing.T, rng *mathrand.Rand, packets [][]byte, size int) {
	var wire bytes.Buffer
	w := newTransport(nopCloser{&wire}, rand.Reader, true)
	for _, p := range packets {
		if err := w.writePacket(bytes.Clone(p)); err != nil {
			t.Fatal(err)
		}
	}
	// The connection returns what it holds in pieces of random sizes, as
	// TCP does: a read that fills the buffer then often takes the start
	// of the next packets with it.
	r := newTransport(nopCloser{&chunkedReader{rng: rng, Buffer: &wire}}, rand.Reader, false)
	for i, want := range packets {
		got, err := r.readPacket()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("packet %d of %d bytes: read back differs (%d bytes)", i, len(want), len(got))
		}
	}
	if _, err := r.readPacket(); err != io.EOF {
		t.Errorf("after the last packet: %v, want EOF", err)
	}
	if got := r.bufReader.Size(); got != size {
		t.Errorf("read buffer of %d bytes, want %d", got, size)
	}
}

func packetOf(rng *mathrand.Rand, n int) []byte {
	p := make([]byte, n)
	rng.Read(p)
	p[0] = msgChannelData
	return p
}

// chunkedReader returns at most a random number of bytes per Read.
type chunkedReader struct {
	rng *mathrand.Rand
	*bytes.Buffer
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	return c.Buffer.Read(p[:min(len(p), 1+c.rng.Intn(8<<10))])
}

type nopCloser struct{ io.ReadWriter }

func (nopCloser) Close() error { return nil }
