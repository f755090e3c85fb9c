package evidence

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/bastion-ssh/bastion/store"
)

// pageAssets are the bundle's own pages around the vendored player.
//
//go:embed web/index.html web/play.html web/play.js web/page.css
var pageAssets embed.FS

var (
	indexTemplate = template.Must(template.ParseFS(pageAssets, "web/index.html"))
	playTemplate  = template.Must(template.ParseFS(pageAssets, "web/play.html"))
)

// renderIndex renders index.html.
func renderIndex(rep *Report, events []store.ChainEvent) ([]byte, error) {
	data := struct {
		R            *Report
		Since, Until string
		Events       []store.ChainEvent
	}{R: rep, Since: "the beginning", Until: "the export", Events: events}
	if !rep.Filter.Since.IsZero() {
		data.Since = rep.Filter.Since.UTC().Format(time.RFC3339)
	}
	if !rep.Filter.Until.IsZero() {
		data.Until = rep.Filter.Until.UTC().Format(time.RFC3339)
	}
	var buf bytes.Buffer
	if err := indexTemplate.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("evidence: index.html: %w", err)
	}
	return buf.Bytes(), nil
}

// writePlayer writes dir/cast.js (the recording as a JavaScript string)
// and dir/play.html, which plays it from disk.
func writePlayer(b *bundleWriter, dir string, rec SessionRecord, castPath string) error {
	end := strconv.FormatFloat(lastEventTime(castPath), 'f', 3, 64)
	var page bytes.Buffer
	if err := playTemplate.Execute(&page, struct {
		SessionRecord
		End string
	}{rec, end}); err != nil {
		return fmt.Errorf("evidence: play.html: %w", err)
	}
	if err := b.addBytes(dir+"play.html", page.Bytes()); err != nil {
		return err
	}
	// Two passes over the recording: the size first, as a tar header needs
	// it, then the content; neither holds the recording in memory.
	size, err := castScript(io.Discard, castPath)
	if err != nil {
		return err
	}
	return b.add(dir+"cast.js", size, func(w io.Writer) error {
		_, err := castScript(w, castPath)
		return err
	})
}

// lastEventTime returns the time of a recording's last event, for the
// player's poster, reading only the file's tail; 0 if it cannot tell.
func lastEventTime(path string) float64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	const tail = 64 << 10
	off := max(st.Size()-tail, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return 0
	}
	lines := bytes.Split(bytes.TrimRight(buf, "\n"), []byte("\n"))
	var ev []json.RawMessage
	if json.Unmarshal(lines[len(lines)-1], &ev) != nil || len(ev) != 3 {
		return 0
	}
	t, _ := strconv.ParseFloat(string(ev[0]), 64)
	return t
}

// castScript writes `window.BASTION_CAST = "...";` holding the file at
// path as a JavaScript string, and returns the bytes written. Everything
// that could end the string or the script (quotes, backslashes, control
// characters, <, >, &, U+2028, U+2029) is escaped.
func castScript(w io.Writer, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	bw.WriteString("window.BASTION_CAST = \"")
	br := bufio.NewReader(f)
	for {
		r, size, err := br.ReadRune()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		switch {
		case r == utf8.RuneError && size == 1:
			bw.WriteString(`\ufffd`)
		case r == '"' || r == '\\':
			bw.WriteByte('\\')
			bw.WriteRune(r)
		case r == '\n':
			bw.WriteString(`\n`)
		case r < 0x20 || r == '<' || r == '>' || r == '&' || r == 0x2028 || r == 0x2029 || r == 0x7f:
			fmt.Fprintf(bw, `\u%04x`, r)
		default:
			bw.WriteRune(r)
		}
	}
	bw.WriteString("\";\n")
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	return cw.n, nil
}
