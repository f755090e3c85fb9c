package masking

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time (user and system) the process has used.
// Benchmarks report it per operation as cpu-ns/op: on a machine whose cores
// are shared, wall time per operation counts the time other processes ran,
// CPU time much less so.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per operation since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// terminalOutput generates about n bytes of realistic terminal output: ls -l
// with colours, ps, a psql table, application logs and grep --color output,
// with a PHI value in about one line in fifty.
func terminalOutput(n int) []byte {
	rng := rand.New(rand.NewPCG(7, 11))
	var b strings.Builder
	users := []string{"root", "postgres", "app", "deploy", "www-data"}
	words := []string{"GET", "POST", "/api/v1/patients", "/healthz", "status=200", "status=404", "cache", "miss", "hit", "user", "session", "request"}
	for b.Len() < n {
		switch rng.IntN(5) {
		case 0: // ls -l --color
			fmt.Fprintf(&b, "-rw-r--r-- 1 %s %s %6d Jan %2d %02d:%02d \x1b[0m\x1b[01;34mreport-%04d\x1b[0m.csv\r\n",
				users[rng.IntN(5)], users[rng.IntN(5)], rng.IntN(999999), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(10000))
		case 1: // ps aux
			fmt.Fprintf(&b, "%-8s %6d  %2d.%d  %2d.%d %7d %6d ?        Ss   %02d:%02d   0:%02d /usr/sbin/%s -c /etc/%s.conf\r\n",
				users[rng.IntN(5)], rng.IntN(99999), rng.IntN(100), rng.IntN(10), rng.IntN(100), rng.IntN(10),
				rng.IntN(9999999), rng.IntN(999999), rng.IntN(24), rng.IntN(60), rng.IntN(60), words[rng.IntN(len(words))], users[rng.IntN(5)])
		case 2: // psql
			ssn := fmt.Sprintf("%03d-%02d-%04d", 100+rng.IntN(500), 1+rng.IntN(98), 1+rng.IntN(9998))
			if rng.IntN(20) > 0 {
				ssn = "           "
			}
			fmt.Fprintf(&b, " %6d | %-12s | %s | %s | %4d-%02d-%02d | %8.2f\r\n",
				rng.IntN(999999), users[rng.IntN(5)], ssn, "pending ", 1950+rng.IntN(60), 1+rng.IntN(12), 1+rng.IntN(28), rng.Float64()*1000)
		case 3: // logs
			phi := ""
			if rng.IntN(50) == 0 {
				phi = fmt.Sprintf(" email=jane.doe%d@example.org phone=(555) %03d-%04d", rng.IntN(100), 200+rng.IntN(700), rng.IntN(10000))
			}
			fmt.Fprintf(&b, "2024-01-%02dT%02d:%02d:%02d.%03dZ INFO %s %s %s took=%dms req=%08x-%04x-%04x-%04x-%012x%s\n",
				1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(1000), words[rng.IntN(len(words))],
				words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.IntN(5000),
				rng.Uint32(), rng.IntN(65536), rng.IntN(65536), rng.IntN(65536), rng.Uint64()&0xffffffffffff, phi)
		case 4: // grep --color
			v := []string{"error", "timeout", "denied", "retry"}[rng.IntN(4)]
			switch rng.IntN(20) {
			case 0:
				v = fmt.Sprintf("MRN: %08d", rng.IntN(99999999))
			case 1:
				v = "DOB: 0" + fmt.Sprint(1+rng.IntN(9)) + "/1" + fmt.Sprint(rng.IntN(9)) + "/19" + fmt.Sprint(50+rng.IntN(49))
			}
			fmt.Fprintf(&b, "\x1b[35m\x1b[Knotes/%d.txt\x1b[m\x1b[K\x1b[36m\x1b[K:\x1b[m\x1b[K%d\x1b[36m\x1b[K:\x1b[m\x1b[Kpatient \x1b[01;31m\x1b[K%s\x1b[m\x1b[K seen by dr. %s\r\n",
				rng.IntN(500), rng.IntN(900), v, users[rng.IntN(5)])
		}
	}
	return []byte(b.String())
}

// BenchmarkMasker measures throughput with all default recognizers, the
// way a proxy loop calls it: one output buffer reused across writes.
func BenchmarkMasker(b *testing.B) {
	data := terminalOutput(1 << 20)
	for _, style := range []string{StyleSameLength, StyleLabel} {
		m := newTestMasker(b, Config{Style: style})
		for _, chunk := range []int{256, 4096, 32768} {
			b.Run(fmt.Sprintf("style=%s/chunk=%d", style, chunk), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				var out []byte
				start := cpuTime()
				for b.Loop() {
					s := m.NewStream()
					for i := 0; i < len(data); i += chunk {
						out = s.AppendWrite(out[:0], data[i:min(i+chunk, len(data))])
					}
					out = s.AppendFlush(out[:0])
				}
				reportCPU(b, start)
			})
		}
	}
}

// BenchmarkMaskerLongStream is BenchmarkMasker in a session's steady state:
// one stream for all the iterations, so its buffers have grown once, as
// they have for a session that has been printing for a while.
func BenchmarkMaskerLongStream(b *testing.B) {
	data := terminalOutput(1 << 20)
	for _, chunk := range []int{4096, 32768} {
		b.Run(fmt.Sprintf("chunk=%d", chunk), func(b *testing.B) {
			m := newTestMasker(b, Config{})
			s := m.NewStream()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var out []byte
			start := cpuTime()
			for b.Loop() {
				for i := 0; i < len(data); i += chunk {
					out = s.AppendWrite(out[:0], data[i:min(i+chunk, len(data))])
				}
				s.Findings()
			}
			reportCPU(b, start)
		})
	}
}

// BenchmarkMaskerBase64 is the text download of `make bench`: base64 lines,
// long runs of letters and digits broken by '+', '/' and newlines.
func BenchmarkMaskerBase64(b *testing.B) {
	data := base64Lines()
	m := newTestMasker(b, Config{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var out []byte
	start := cpuTime()
	for b.Loop() {
		s := m.NewStream()
		for i := 0; i < len(data); i += 256 << 10 {
			out = s.AppendWrite(out[:0], data[i:min(i+256<<10, len(data))])
		}
		out = s.AppendFlush(out[:0])
	}
	reportCPU(b, start)
}

// base64Lines is 1 MiB of base64 in lines of 76 characters.
func base64Lines() []byte {
	raw := make([]byte, 3<<18)
	rng := rand.New(rand.NewPCG(3, 5))
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	var lines strings.Builder
	for len(enc) > 76 {
		lines.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	return []byte(lines.String())
}

// BenchmarkMaskerWrite measures Write, which allocates its result.
func BenchmarkMaskerWrite(b *testing.B) {
	data := terminalOutput(1 << 20)
	m := newTestMasker(b, Config{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s := m.NewStream()
		for i := 0; i < len(data); i += 4096 {
			s.Write(data[i:min(i+4096, len(data))])
		}
		s.Flush()
	}
}

// BenchmarkMaskerKeystroke measures one Write of a one-byte echo, as an
// interactive shell produces while the user types.
func BenchmarkMaskerKeystroke(b *testing.B) {
	m := newTestMasker(b, Config{})
	s := m.NewStream()
	s.Write(terminalOutput(4096))
	echo := []byte("ls -la /var/log/nginx 2>&1 | grep 555\r\n")
	b.ReportAllocs()
	var out []byte
	i := 0
	for b.Loop() {
		out = s.AppendWrite(out[:0], echo[i:i+1])
		i = (i + 1) % len(echo)
	}
}

// BenchmarkPipeline is what an output stream costs on the server: Paced
// (string payloads, deadlines, the Stream) and the Screen of its terminal,
// on terminal output (a pty of 80x24), on the downloads of `make bench`
// (base64 lines, and NUL bytes from /dev/zero, from a command without a
// pty, in the reads of a bulk transfer), and on plain lines in small reads
// on a pty (cat of a log).
func BenchmarkPipeline(b *testing.B) {
	m := newTestMasker(b, Config{})
	terminal := func() []byte { return terminalOutput(1 << 20) }
	for _, tc := range []struct {
		name       string
		data       func() []byte
		chunk      int
		cols, rows int
	}{
		{"terminal/chunk=4096", terminal, 4096, 80, 24},
		{"terminal/chunk=32768", terminal, 32768, 80, 24},
		{"base64/chunk=262144", base64Lines, 256 << 10, 0, 0},
		{"lines/chunk=4096", func() []byte { return bytes.ReplaceAll(base64Lines(), []byte("\n"), []byte("\r\n")) }, 4096, 80, 24}, // cat of a log on a pty
		{"zero/chunk=262144", func() []byte { return make([]byte, 1<<20) }, 256 << 10, 0, 0},
	} {
		chunk := tc.chunk
		b.Run(tc.name, func(b *testing.B) {
			data := tc.data()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var out []byte
			now := time.Unix(0, 0)
			for b.Loop() {
				p, sc := m.NewPaced(), m.NewScreen(tc.cols, tc.rows)
				var off int64
				for i := 0; i < len(data); i += chunk {
					out = p.AppendWrite(out[:0], now, data[i:min(i+chunk, len(data))])
					sc.Mask(out, off)
					off += int64(len(out))
				}
			}
		})
	}
}
