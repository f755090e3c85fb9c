package server

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/bastion-ssh/bastion/masking"
)

// Two streams (stdout and stderr) on one terminal, sharing its sender and
// its screen, each read by its own goroutine into one buffer reused and
// scribbled over after every read, as the target's reads are: bulk lines
// handed to the sender without a copy, string sequences that take the
// filter's copy (an ESC at the end of one read, the introducer at the start
// of the next; payloads with values), keystroke-sized reads among them. Each
// client stream gets exactly what was recorded for it, never before it was
// recorded, and no value reaches either unmasked.
func TestTwoStreamsHandedOffArriveAsRecorded(t *testing.T) {
	m, err := masking.New(masking.Config{}, []byte("test fingerprint key, 32 bytes.."))
	if err != nil {
		t.Fatal(err)
	}
	stream := func(tag string) []byte {
		var b bytes.Buffer
		for i := 0; b.Len() < 512<<10; i++ {
			switch i % 7 {
			case 3:
				fmt.Fprintf(&b, "\x1b]0;%s ssn 123-45-%04d\a\x1b[1m%s\x1b[0m\r\n", tag, 1000+i%9000, tag)
			case 5:
				fmt.Fprintf(&b, "\x1b]0;x\x18%s 123-45-\a%04d\r\n", tag, 1000+i%9000)
			default:
				fmt.Fprintf(&b, "%s line %06d jane.doe%d@example.org ssn 123-45-%04d ok\r\n", tag, i, i, 1000+i%9000)
			}
		}
		return b.Bytes()
	}
	outs := [2]*syncOrderCheck{{}, {}}
	term := newClientTerminal(m, nil)
	pipes := [2]*outputPipe{
		{rec: outs[0], dst: outs[0], mask: m.NewPaced(), term: term},
		{rec: outs[1], dst: outs[1], mask: m.NewPaced(), term: term},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for k, tag := range []string{"out", "err"} {
		data := stream(tag)
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for i, n := 0, 0; i < len(data); i += n {
				// Reads ending everywhere: inside ESC sequences, values,
				// lines; from a byte to 256 KiB.
				n = min(1+i*(31+k*6)%(len(buf)), len(data)-i)
				if i%5 == 0 {
					n = min(1+i%13, len(data)-i)
				}
				copy(buf, data[i:i+n])
				if err := pipes[k].write(buf[:n]); err != nil {
					errs <- err
					return
				}
				for j := range buf[:n] {
					buf[j] = '1' // a reused read buffer: digits, to make a value of stale bytes
				}
			}
			errs <- pipes[k].flush()
		}()
	}
	wg.Wait()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for k, p := range pipes {
		if err := p.waitSent(); err != nil {
			t.Fatal(err)
		}
		o := outs[k]
		o.mu.Lock()
		if o.early > 0 {
			t.Errorf("stream %d: a chunk of %d bytes reached the client before it was recorded", k, o.early)
		}
		if !bytes.Equal(o.sent.Bytes(), o.recorded.Bytes()) {
			t.Errorf("stream %d: client got %d bytes, recorded %d, differing from %q", k, o.sent.Len(), o.recorded.Len(), diffFrom(o.sent.Bytes(), o.recorded.Bytes()))
		}
		if i := bytes.Index(o.sent.Bytes(), []byte("123-45-")); i >= 0 {
			t.Errorf("stream %d: a value reached the client: %q", k, o.sent.Bytes()[max(0, i-40):min(o.sent.Len(), i+40)])
		}
		o.mu.Unlock()
	}
}

// diffFrom is a from a little before where it first differs from b.
func diffFrom(a, b []byte) []byte {
	i := 0
	for i < min(len(a), len(b)) && a[i] == b[i] {
		i++
	}
	return a[max(0, i-20):min(len(a), i+40)]
}
