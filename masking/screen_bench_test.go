package masking

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkScreenLines is the screen model alone on bulk output of plain
// lines (base64Lines): without a terminal (line feeds returned by onlcr),
// and on a pty of 80x24 (CR LF), in the reads of a log shown in small
// pieces up to those of a bulk transfer (the proxy reads up to 256 KiB),
// 1 MiB per operation of one long stream.
func BenchmarkScreenLines(b *testing.B) {
	m := newTestMasker(b, Config{})
	lf := base64Lines()
	crlf := bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
	for _, tc := range []struct {
		name       string
		data       []byte
		cols, rows int
	}{
		{"nopty", lf, 0, 0},
		{"pty", crlf, 80, 24},
	} {
		for _, chunk := range []int{4 << 10, 32 << 10, 100 << 10, 256 << 10} {
			b.Run(fmt.Sprintf("%s/chunk=%d", tc.name, chunk), func(b *testing.B) {
				data := tc.data
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				sc := m.NewScreen(tc.cols, tc.rows) // one long stream: the steady state
				var off int64
				start := cpuTime()
				for b.Loop() {
					for i := 0; i < len(data); i += chunk {
						sc.Mask(data[i:min(i+chunk, len(data))], off)
						off += int64(min(chunk, len(data)-i))
					}
				}
				reportCPU(b, start)
			})
		}
	}
}
