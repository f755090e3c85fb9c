package server

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bastion-ssh/bastion/masking"
	"github.com/bastion-ssh/bastion/recorder"
)

// BenchmarkOutputPipe is the proxy's output hot path without masking:
// record to a real recording file, then deliver.
func BenchmarkOutputPipe(b *testing.B) {
	for _, size := range []int{64, 4096, 32 << 10} {
		b.Run(byteSize(size), func(b *testing.B) {
			w := benchRecording(b)
			chunk := bytes.Repeat([]byte("drwxr-xr-x 2 root root 4096 Jan  1 00:00 \x1b[34mdir\x1b[0m\r\n"), size/48+1)[:size]
			p := &outputPipe{rec: w, dst: io.Discard}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := p.write(chunk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOutputPipeMasked is the whole output path of a terminal
// session, as a download through the bastion runs it: the masker with
// its pacing, the screen model of the client's terminal, the recording
// file (escape, hash chain, write) and the sender, on mixed terminal
// output (coloured listings, logs, a table, grep matches) with a value to
// mask now and then.
func BenchmarkOutputPipeMasked(b *testing.B) {
	m, err := masking.New(masking.Config{}, []byte("test fingerprint key, 32 bytes.."))
	if err != nil {
		b.Fatal(err)
	}
	terminal := benchTerminalText(1 << 20)
	pty := &ptyRequest{Cols: 80, Rows: 24}
	for _, tc := range []struct {
		name  string
		data  []byte
		chunk int
		pty   *ptyRequest
	}{
		{"4KiB", terminal, 4096, pty},
		{"32KiB", terminal, 32 << 10, pty},
		// /dev/zero from a command without a pty, in the 256 KiB reads
		// of a bulk transfer: NUL bytes, six each in the recording.
		{"zero/256KiB", make([]byte, 4<<20), 256 << 10, nil},
	} {
		data, chunk := tc.data, tc.chunk
		b.Run(tc.name, func(b *testing.B) {
			w := benchRecording(b)
			term := newClientTerminal(m, tc.pty)
			p := &outputPipe{rec: w, dst: io.Discard, mask: m.NewPaced(), term: term}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				for i := 0; i < len(data); i += chunk {
					if err := p.write(data[i:min(i+chunk, len(data))]); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
			if err := p.flush(); err != nil {
				b.Fatal(err)
			}
			if err := p.waitSent(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// benchRecording is a recording file without periodic checkpoints.
// cpuTime returns the CPU time (user and system) the process has used:
// on a machine whose cores are shared, wall time per operation counts the
// time other processes ran, CPU time much less so.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchRecording(b *testing.B) *recorder.Writer {
	w, err := recorder.Create(filepath.Join(b.TempDir(), "bench.cast"),
		recorder.Header{Session: recorder.Meta{SessionID: "bench"}}, recorder.Options{CheckpointEvery: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close(recorder.ExitInfo{}) })
	return w
}

// benchTerminalText is about n bytes of lines a shell session prints, one
// in twenty with an e-mail address, a phone number or an SSN to mask.
func benchTerminalText(n int) []byte {
	var buf bytes.Buffer
	for i := 0; buf.Len() < n; i++ {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&buf, "-rw-r--r-- 1 app app %6d Jan %2d 12:%02d \x1b[0m\x1b[01;34mreport-%04d\x1b[0m.csv\r\n", i*37%999999, 1+i%28, i%60, i%10000)
		case 1:
			fmt.Fprintf(&buf, "2024-01-%02dT10:%02d:%02d.%03dZ INFO GET /api/v1/patients status=200 took=%dms req=%08x\r\n", 1+i%28, i%60, i%60, i%1000, i%5000, i*2654435761)
		case 2:
			fmt.Fprintf(&buf, " %6d | %-12s | %11s | pending | %8.2f\r\n", i, "postgres", "", float64(i%100000)/100)
		case 3:
			fmt.Fprintf(&buf, "\x1b[35m\x1b[Knotes/%d.txt\x1b[m\x1b[K\x1b[36m\x1b[K:\x1b[m\x1b[Kpatient \x1b[01;31m\x1b[Kerror\x1b[m\x1b[K seen by dr. app\r\n", i%500)
		case 4:
			switch i / 5 % 20 {
			case 0:
				fmt.Fprintf(&buf, "contact jane.doe%d@example.org\r\n", i%100)
			case 1:
				fmt.Fprintf(&buf, "phone (555) %03d-%04d\r\n", 200+i%700, i%10000)
			case 2:
				fmt.Fprintf(&buf, "ssn %03d-%02d-%04d\r\n", 100+i%500, 1+i%98, 1+i%9998)
			default:
				fmt.Fprintf(&buf, "user@db-1:~$ tail -n %d /var/log/app.log\r\n", i%100)
			}
		}
	}
	return buf.Bytes()
}

func byteSize(n int) string {
	if n >= 1024 {
		return strconv.Itoa(n/1024) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}
