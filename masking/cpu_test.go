package masking

import (
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestCPUThroughput(t *testing.T) {
	data := terminalOutput(1 << 20)
	for _, cfg := range []Config{{}, {Style: StyleLabel}} {
		m := newTestMasker(t, cfg)
		c0, w0 := cpuTime(), time.Now()
		const reps = 20
		for r := 0; r < reps; r++ {
			s := m.NewStream()
			for i := 0; i < len(data); i += 4096 {
				s.Write(data[i:min(i+4096, len(data))])
			}
			s.Flush()
		}
		cpu, wall := cpuTime()-c0, time.Since(w0)
		mb := float64(reps*len(data)) / 1e6
		t.Logf("%q: %.1f MB/cpu-s  %.1f MB/wall-s", cfg.Style, mb/cpu.Seconds(), mb/wall.Seconds())
	}
}
