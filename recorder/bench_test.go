package recorder

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// terminalStream returns about n bytes of typical interactive terminal
// output: coloured ls listings, log lines, a prompt with a title escape,
// full-screen cursor movement, and non-ASCII names.
func terminalStream(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	names := []string{"app", "backups", "config.yaml", "données", "日本語.txt", "run.sh", "patients.csv"}
	var b []byte
	for len(b) < n {
		switch r.IntN(5) {
		case 0: // ls -l --color
			for range 8 {
				b = fmt.Appendf(b, "drwxr-xr-x  %d root root %5d Nov 28 00:%02d \x1b[01;34m%s\x1b[0m\r\n",
					r.IntN(9)+1, r.IntN(9000)+100, r.IntN(60), names[r.IntN(len(names))])
			}
		case 1: // application logs
			for range 10 {
				b = fmt.Appendf(b, "2025-03-04T05:06:%02d.%03dZ INFO  handler: GET /api/v1/records/%d status=200 latency=%dms user=%s\r\n",
					r.IntN(60), r.IntN(1000), r.IntN(1e6), r.IntN(300), names[r.IntN(len(names))])
			}
		case 2: // prompt and echoed command
			b = fmt.Appendf(b, "\x1b]0;alice@db-1: ~\x07\x1b[01;32malice@db-1\x1b[00m:\x1b[01;34m~\x1b[00m$ tail -n 20 %s\r\n",
				names[r.IntN(len(names))])
		case 3: // full-screen redraw (top)
			for row := 1; row <= 12; row++ {
				b = fmt.Appendf(b, "\x1b[%d;1H\x1b[K%7d postgres  20   0 %7d %6d S  %4.1f  %4.1f   0:%02d.%02d postgres",
					row, r.IntN(99999), r.IntN(9e6), r.IntN(9e5), r.Float64()*10, r.Float64()*5, r.IntN(60), r.IntN(100))
			}
		case 4: // query output with accented names
			b = append(b, " id  | name            | city\r\n-----+-----------------+----------\r\n"...)
			for i := range 6 {
				b = fmt.Appendf(b, " %3d | José Müller-Ødegård | Zürich\r\n", i)
			}
		}
	}
	return b
}

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// chunks splits s into pieces of at most size bytes that end on UTF-8
// boundaries, as the proxy delivers them.
func chunks(s []byte, size int) [][]byte {
	var out [][]byte
	for len(s) > 0 {
		n := validUTF8Prefix(s, size)
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// base64Lines is n bytes of base64 in lines of 76 characters, the text
// download of `make bench` (a command without a pty: "\n" ends a line).
func base64Lines(n int) []byte {
	raw := make([]byte, n*3/4)
	rng := rand.New(rand.NewPCG(3, 5))
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	var b []byte
	for len(enc) > 76 {
		b = append(append(b, enc[:76]...), '\n')
		enc = enc[76:]
	}
	return b
}

// BenchmarkWriterOutput is the recorder alone (escape, hash chain, write to
// a file): terminal output in reads of several sizes, and the downloads of
// `make bench` (base64 lines, and NUL bytes from /dev/zero) in the 256 KiB
// reads of a bulk transfer.
func BenchmarkWriterOutput(b *testing.B) {
	terminal := func() []byte { return terminalStream(4 << 20) }
	for _, tc := range []struct {
		name   string
		stream func() []byte
		size   int
	}{
		{"chunk=64", terminal, 64},
		{"chunk=4096", terminal, 4096},
		{"chunk=32768", terminal, 32 << 10},
		{"base64/chunk=262144", func() []byte { return base64Lines(4 << 20) }, 256 << 10},
		{"zero/chunk=262144", func() []byte { return make([]byte, 4<<20) }, 256 << 10},
	} {
		size := tc.size
		b.Run(tc.name, func(b *testing.B) {
			cs := chunks(tc.stream(), size)
			dir := b.TempDir()
			var w *Writer
			var files int
			var header, disk, out int64
			open := func() {
				files++
				var err error
				w, err = Create(filepath.Join(dir, fmt.Sprintf("%d.cast", files)), testHeader("bench"), Options{Signer: testKey})
				if err != nil {
					b.Fatal(err)
				}
				header += w.Bytes()
			}
			closeW := func() {
				disk += w.Bytes() // before the exit marker
				if _, err := w.Close(ExitInfo{}); err != nil {
					b.Fatal(err)
				}
			}
			open()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			start := cpuTime()
			for i := 0; b.Loop(); i++ {
				c := cs[i%len(cs)]
				if err := w.Output(c); err != nil {
					b.Fatal(err)
				}
				out += int64(len(c))
				if w.Bytes() > 256<<20 { // bound the disk space used
					b.StopTimer()
					t := cpuTime()
					closeW()
					open()
					start += cpuTime() - t
					b.StartTimer()
				}
			}
			b.StopTimer()
			// CPU time, the closing and reopening of files aside: on
			// shared cores wall time counts what other processes ran.
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
			closeW()
			// Bytes on disk per byte of output, headers aside (disk is
			// counted before Close adds the exit marker).
			b.ReportMetric(float64(disk-header)/float64(out), "disk-B/out-B")
		})
	}
}

// BenchmarkRecordingFloor is what recording a byte costs at the least,
// whatever the encoding: hashing it (SHA-256, the chain's hash) and writing
// it to a file, on the base64 text download in 256 KiB reads. Against
// BenchmarkWriterOutput/base64 it says how much of the recorder is the
// encoding; against the transfer goals, how much of a download's CPU per
// GiB no bastion that records can save.
func BenchmarkRecordingFloor(b *testing.B) {
	const size = 256 << 10
	cs := chunks(base64Lines(4<<20), size)
	f, err := os.Create(filepath.Join(b.TempDir(), "floor"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	var written int64
	b.SetBytes(size)
	b.ResetTimer()
	start := cpuTime()
	for i := 0; b.Loop(); i++ {
		c := cs[i%len(cs)]
		h.Write(c)
		if _, err := f.Write(c); err != nil {
			b.Fatal(err)
		}
		if written += int64(len(c)); written > 256<<20 { // bound the disk space used
			b.StopTimer()
			if err := f.Truncate(0); err != nil {
				b.Fatal(err)
			}
			if _, err := f.Seek(0, 0); err != nil {
				b.Fatal(err)
			}
			written = 0
			b.StartTimer()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	h.Sum(nil)
}
