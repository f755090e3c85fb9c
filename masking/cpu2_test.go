package masking

import (
	"testing"
	"time"
)

func TestCPUParts(t *testing.T) {
	data := terminalOutput(1 << 20)
	noCtx := map[string]RecognizerConfig{"dob": {Enabled: off()}, "mrn": {Enabled: off()}, "npi": {Enabled: off()}}
	for name, cfg := range map[string]Config{"nomrn": {Recognizers: map[string]RecognizerConfig{"mrn": {Enabled: off()}}}, "dobonly": {Recognizers: map[string]RecognizerConfig{"mrn": {Enabled: off()}, "npi": {Enabled: off()}}}, "noctx": {Recognizers: noCtx}, "default": {}} {
		m := newTestMasker(t, cfg)
		best := time.Hour
		for r := 0; r < 30; r++ {
			t0 := time.Now()
			s := m.NewStream()
			for i := 0; i < len(data); i += 4096 {
				s.Write(data[i:min(i+4096, len(data))])
			}
			s.Flush()
			best = min(best, time.Since(t0))
		}
		t.Logf("%s: best %.1f MB/s", name, float64(len(data))/1e6/best.Seconds())
	}
}
