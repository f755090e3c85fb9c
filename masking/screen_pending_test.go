package masking

import (
	"fmt"
	"strings"
	"testing"
)

// plainLines is n plain lines, as a log or cat prints them.
func plainLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "line %d of the log\r\n", i)
	}
	return b.String()
}

// Plain lines held back across chunks are drawn before anything that can
// use them (more lines than the large model's rows, so that both models
// hold them): a value completed on their rows by a later chunk, whatever the
// chunk boundaries, is masked as it is when they are drawn at once.
func TestScreenHeldLinesTricks(t *testing.T) {
	m := newTestMasker(t, Config{})
	cases := []struct {
		name  string
		plain string // held back when it ends a chunk
		trick string
		leak  string
	}{
		{"cup-after-lines", plainLines(250), "\x1b[5;1H\x1b[2K123-45-\x1b[5;8H6789\r\n", "123-45-6789"},
		{"cha-after-partial", plainLines(250) + "id 123-45-", "\x1b[11G6789\r\n", "123-45-6789"},
		{"up-into-held-row", plainLines(250) + "123-45-\r\ny\r\n", "\x1b[2A\x1b[8G6789\r\n", "123-45-6789"},
		{"up-past-dropped-lines", plainLines(300) + "123-45-\r\n" + plainLines(20), "\x1b[21A\x1b[8G6789\r\n", "123-45-6789"},
		{"backspace-into-partial", plainLines(250) + "123-45-678x", "\b9\r\n", "123-45-6789"},
		{"overwrite-held-line", plainLines(250) + "000-00-6789\r\n", "\x1bM\r123-45\r\n", "123-45-6789"},
		{"insert-into-held-line", plainLines(250) + "6789\r\n", "\x1b[A\x1b[4h123-45-\x1b[4l\r\n", "123-45-6789"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			whole := tc.plain + tc.trick
			if !strings.Contains(render(whole), tc.leak) {
				t.Fatalf("the trick does not draw %q", tc.leak)
			}
			// The plain lines in chunks of every size down to a few
			// bytes, then the trick cut at each of its bytes.
			for _, size := range []int{len(tc.plain), 4096, 100, 7} {
				for cut := 0; cut <= len(tc.trick); cut++ {
					var chunks []string
					for p := tc.plain; len(p) > 0; p = p[min(size, len(p)):] {
						chunks = append(chunks, p[:min(size, len(p))])
					}
					chunks = append(chunks, tc.trick[:cut], tc.trick[cut:])
					out := screenRun(m, chunks...)
					if screen := render(out); strings.Contains(screen, tc.leak) {
						t.Fatalf("chunks of %d, trick cut at %d: screen shows %q:\n%s", size, cut, tc.leak, screen)
					}
					if len(out) != len(whole) {
						t.Fatalf("length changed: %q", out)
					}
				}
			}
		})
	}
}

// Another stream's write draws what is held first: a line that two streams
// print in sequence ("123-45-" on stdout, "6789" on stderr) is no text
// either stream's masker read, so its row must be read from the screen.
func TestScreenInterleaveDrawsHeld(t *testing.T) {
	m := newTestMasker(t, Config{})
	sc := m.NewScreen(80, 24)
	stdout, stderr := m.NewStream(), m.NewStream()
	var shown []byte
	var off int64
	write := func(st *Stream, s string) {
		b := st.Write([]byte(s))
		b = append(b, st.Flush()...)
		sc.Mask(b, off)
		off += int64(len(b))
		shown = append(shown, b...)
	}
	write(stdout, plainLines(250)+"123-45-")
	sc.Interleave()
	write(stderr, "6789\r\n"+plainLines(3))
	if screen := render(string(shown)); strings.Contains(screen, "123-45-6789") {
		t.Fatalf("screen shows the value:\n%s", screen)
	}
}
