package masking

import (
	"bytes"
	"fmt"
	"testing"
)

// TestAppendWriteAllocatesNothing holds AppendWrite to what the package
// documents: in steady state, on output without values (so without
// findings, which are allocated for the caller), it allocates nothing,
// whatever the size of the writes. The output is the benchmarks' terminal
// output (colours, tables, logs, grep) without the lines that hold values.
func TestAppendWriteAllocatesNothing(t *testing.T) {
	m := newTestMasker(t, Config{})
	var data []byte
	for _, line := range bytes.SplitAfter(terminalOutput(128<<10), []byte("\n")) {
		if _, f := m.MaskString(string(line)); len(f) == 0 {
			data = append(data, line...)
		}
	}
	for _, chunk := range []int{1, 256, 4096, 32768} {
		t.Run(fmt.Sprint(chunk), func(t *testing.T) {
			s := m.NewStream()
			var out []byte
			write := func() {
				for i := 0; i < len(data); i += chunk {
					out = s.AppendWrite(out[:0], data[i:min(i+chunk, len(data))])
				}
			}
			write() // the buffers grow to what this output needs
			if n := testing.AllocsPerRun(2, write); n != 0 {
				t.Fatalf("%v allocations per pass over %d bytes in writes of %d", n, len(data), chunk)
			}
			if f := s.Findings(); len(f) != 0 {
				t.Fatalf("findings in output without values: %+v", f)
			}
		})
	}
}
