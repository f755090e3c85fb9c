package masking

import (
	"strings"
	"testing"
)

// screenRun masks chunks with a Stream and then a Screen, as the server
// does, and returns the output.
func screenRun(m *Masker, chunks ...string) string {
	st := m.NewStream()
	sc := m.NewScreen(0, 0) // no terminal: line feeds return (onlcr)
	var out []byte
	var off int64
	step := func(b []byte) {
		sc.Mask(b, off)
		off += int64(len(b))
		out = append(out, b...)
	}
	for _, c := range chunks {
		step(st.Write([]byte(c)))
	}
	step(st.Flush())
	return string(out)
}

func TestScreenTricks(t *testing.T) {
	m := newTestMasker(t, Config{})
	sgr := strings.Repeat("\x1b[1;31;42m\x1b[0m", 25)
	cases := []struct {
		name   string
		chunks []string
		leak   string // must not be on the screen whole
	}{
		{"cha", []string{"123-45-\x1b[8G6789\r\n"}, "123-45-6789"},
		{"cup", []string{"\x1b[2J\x1b[5;1H123-45-\x1b[5;8H6789\r\n"}, "123-45-6789"},
		{"save-restore", []string{"\x1b7       6789\x1b8123-45-\r\n"}, "123-45-6789"},
		{"overwrite", []string{"000-00-6789\r123-45\r\n"}, "123-45-6789"},
		{"backspace", []string{"123-45-678x\b9\r\n"}, "123-45-6789"},
		{"si-so-nul", []string{"123\x0e-45\x0f-\x006789\r\n"}, "123-45-6789"},
		{"zero-width", []string{"123\u200b-45-\u200b6789\r\n"}, "123-45-6789"},
		{"unicode-hyphen", []string{"123\u201045\u20116789\r\n"}, "123-45-6789"},
		{"minus-sign", []string{"123\u221245\u22126789\r\n"}, "123-45-6789"},
		{"fullwidth", []string{"１２３-４５-６７８９\r\n"}, "123-45-6789"},
		{"sgr-between", []string{"123-" + sgr + "45-" + sgr + "6789\r\n"}, "123-45-6789"},
		{"split-chunks", []string{"123-45-", "\x1b[8G", "6789", "\r\n"}, "123-45-6789"},
		{"card-by-cup", []string{"\x1b[3;1H4111 1111 \x1b[3;11H1111 1111\r\n"}, "4111 1111 1111 1111"},
		{"scroll-region", []string{"\x1b[1;1H123-45-\x1b[2;24r\x1b[24;1H" + strings.Repeat("\n", 30) + "\x1b[1;8H6789"}, "123-45-6789"},
		{"alt-screen-return", []string{"123-45-\x1b[?1049h\x1b[2Jx\x1b[?1049l\x1b[8G6789\r\n"}, "123-45-6789"},
		{"insert-mode", []string{"6789\r\x1b[4h123-45-\x1b[4l\r\n"}, "123-45-6789"},
		{"tab-stops", []string{"\x1b[3g\x1b[8G\x1bH\r123-45-\r\t6789\r\n"}, "123-45-6789"},
		{"long-osc-between", []string{"123-45-\x1b]0;" + strings.Repeat("t", 300) + "\a6789\r\n"}, "123-45-6789"},
		{"after-wrapped-line", []string{strings.Repeat("x", 100) + "\n123-45-\x1b[8G6789\n"}, "123-45-6789"},
		{"cursor-back", []string{"6789\x1b[4D\x1b[7@123-45-\r\n"}, "123-45-6789"},
		// An erase to the end of the row where nothing is changes nothing
		// on the screen and is read through as text; any other erase
		// leaves a row that may show a value the erased characters kept
		// apart.
		{"erase-nothing-between", []string{"123-45-\x1b[K6789\r\n"}, "123-45-6789"},
		{"erase-nothing-split", []string{"123-45-\x1b[K", "6789\x1b[K", "\r\n"}, "123-45-6789"},
		{"erase-after-backspace", []string{"123-45-67890\b\x1b[K\r\n"}, "123-45-6789"},
		{"erase-chars", []string{"123-45-67890\b\x1b[X\r\n"}, "123-45-6789"},
		{"erase-display", []string{"123-45-67890\b\x1b[J\r\n"}, "123-45-6789"},
		{"erase-under-pending-wrap", []string{strings.Repeat("x", 67) + " 123-45-67890\x1b[K\r\n"}, "123-45-6789"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(render(strings.Join(tc.chunks, "")), tc.leak) {
				t.Fatalf("the trick does not draw %q", tc.leak)
			}
			out := screenRun(m, tc.chunks...)
			screen := render(out)
			if strings.Contains(screen, tc.leak) {
				t.Fatalf("screen shows %q:\n%s\noutput %q", tc.leak, screen, out)
			}
			if len(out) != len(strings.Join(tc.chunks, "")) {
				t.Fatalf("length changed: %q", out)
			}
		})
	}
}

// render returns the text a terminal shows after out, normalised as the
// recognizers read it, one line per row.
func render(out string) string {
	tm := newTerm(80, 24)
	tm.onlcr = true
	tm.feed([]byte(out), 0)
	tm.settle()
	var b strings.Builder
	for _, r := range tm.rows {
		for _, c := range r.cells {
			if c.ch != wideTail {
				b.WriteByte(screenByte(c.ch))
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Ordinary screens (a prompt, a table, a progress bar) are left alone.
func TestScreenLeavesOrdinaryOutput(t *testing.T) {
	m := newTestMasker(t, Config{})
	for _, in := range []string{
		"$ ls -l\r\ntotal 8\r\n-rw-r--r-- 1 root root 4096 Jan  1 00:00 file\r\n",
		"\x1b[H\x1b[2J  PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND\r\n    1 root      20   0  167644  11848   8344 S   0.0   0.3   0:02.10 systemd\r\n",
		"\r 45% [=========>          ] 1234567 bytes\r 46% [==========>         ] 1260000 bytes",
		"\x1b[24;1H\x1b[K:\x1b[1;1Hline 1\x1b[2;1Hline 2 of 3000",
	} {
		if out := screenRun(m, in); out != in {
			t.Errorf("changed:\n%q\n%q", in, out)
		}
	}
}

func FuzzScreen(f *testing.F) {
	for _, in := range seedInputs() {
		f.Add([]byte(in), uint8(7))
	}
	f.Add([]byte("123-45-\x1b[8G6789\x1b7\x1b8\x1b[3;4H\x1b[?1049h\x1b]0;t\a"), uint8(3))
	m := newTestMasker(f, Config{})
	f.Fuzz(func(t *testing.T, in []byte, cut uint8) {
		sc := m.NewScreen(int(cut%100)+1, int(cut%30)+1)
		out := append([]byte(nil), in...)
		n := int(cut%16) + 1
		for i := 0; i < len(out); i += n {
			sc.Mask(out[i:min(i+n, len(out))], int64(i))
		}
		for i := range in {
			if out[i] != in[i] && (out[i] != '*' || !(isAlnum(in[i]) || in[i] >= 0x80)) {
				t.Fatalf("byte %d changed from %q to %q", i, in[i], out[i])
			}
		}
	})
}

// A value drawn and erased within one chunk is masked all the same: the
// client's terminal may show it before the erase.
func TestScreenDrawnThenErased(t *testing.T) {
	m := newTestMasker(t, Config{})
	for _, in := range []string{
		"123-45-\x1b[8G6789\x1b[2J",
		"123-45-\x1b[8G6789\x1b[1K",
		"123-45-\x1b[8G6789\x1b[?1049h",
		"123-45-\x1b[8G6789\x1b[1M",
	} {
		if out := screenRun(m, in); strings.Contains(out, "6789") {
			t.Errorf("%q came through as %q", in, out)
		}
	}
}

// A terminal larger than the model knows: far columns are not clamped and
// line feeds scroll later. The large model sees what such a terminal shows.
func TestScreenLargerTerminal(t *testing.T) {
	m := newTestMasker(t, Config{})
	for _, in := range []string{
		"\x1b[1;101H123-45-\x1b[1;108H6789",
		"\x1b[1;1H123-45-" + strings.Repeat("\n", 30) + "\x1b[1;8H6789",
	} {
		if out := screenRun(m, in); strings.Contains(out, "6789") {
			t.Errorf("%q came through as %q", in, out)
		}
	}
}

// Each erase that removes a value drawn in the same chunk reads it first,
// however little of the row it clears; one that clears only blank cells
// (grep --color's EL at the end of a line) needs no read of its own.
func TestScreenEachEraseReads(t *testing.T) {
	m := newTestMasker(t, Config{})
	for _, in := range []string{
		"123-45-\x1b[8G6789\x1b[1G\x1b[K",
		"123-45-\x1b[8G6789\x1b[11G\x1b[K",
		"123-45-\x1b[8G6789\x1b[11G\x1b[1X",
		"123-45-\x1b[8G6789\x1b[1G\x1b[P",
		"123-45-\x1b[8G6789\x1b[1G\x1b[J",
		"123-45-\x1b[8G6789\x1b[2;1H\x1b[1J",
		"123-45-\x1b[8G6789\x1b[1G\x1b[L",
		"123-45-\x1b[8G6789\x1b[K\x1b[1G\x1b[2K",
	} {
		if out := screenRun(m, in); strings.Contains(out, "6789") {
			t.Errorf("%q came through as %q", in, out)
		}
	}
}
