package replay

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"os"
	"path"
	"strconv"
	"time"

	"github.com/bastion-ssh/bastion/recorder"
)

// webAssets is the browser player: asciinema-player (vendored, see
// web/README.md) and the page around it. Everything the page loads comes
// from the handler, so an auditor's browser needs no network access.
//
//go:embed web/asciinema-player.min.js web/asciinema-player.css web/app.js web/page.css web/page.html web/LICENSE.asciinema-player
var webAssets embed.FS

// PlayerAsset returns one file of the vendored browser player
// ("asciinema-player.min.js", "asciinema-player.css",
// "LICENSE.asciinema-player"), for pages that play recordings offline
// (evidence bundles).
func PlayerAsset(name string) ([]byte, error) { return webAssets.ReadFile(path.Join("web", name)) }

var pageTemplate = template.Must(template.ParseFS(webAssets, "web/page.html"))

// webPolicy allows the page only its own scripts, styles and recording.
// The player's terminal emulator is WebAssembly, hence 'wasm-unsafe-eval'
// (it allows compiling WebAssembly, not eval of script), and it sets
// inline styles on the terminal, hence 'unsafe-inline' for styles only.
const webPolicy = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
	"connect-src 'self'; img-src 'self' data:; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Verification is what the page says about a recording's integrity.
type Verification struct {
	OK      bool
	Summary string // e.g. recorder.VerifyResult's String, or the error
}

// pageData fills web/page.html.
type pageData struct {
	Meta         recorder.Meta
	Command      string
	Started      string
	Verified     bool
	Verification string
	End          string // time of the last event, seconds, for the poster
}

// WebPlayer returns a handler that plays the recording at castPath in a
// browser, under the session's details and the result of verifying it.
// It reads the file once, now: what it serves is what was checked.
func WebPlayer(castPath string, v Verification) (http.Handler, error) {
	cast, err := os.ReadFile(castPath)
	if err != nil {
		return nil, err
	}
	rec, err := Read(bytes.NewReader(cast))
	if pe, ok := err.(*ParseError); ok {
		pe.Path = castPath
	}
	if err != nil {
		return nil, err
	}
	data := pageData{
		Meta: rec.Header.Session, Command: rec.Header.Command,
		Verified: v.OK, Verification: v.Summary, End: "0",
	}
	if n := len(rec.Events); n > 0 {
		data.End = strconv.FormatFloat(rec.Events[n-1].Time, 'f', 3, 64)
	}
	if !rec.Header.Timestamp.IsZero() {
		data.Started = rec.Header.Timestamp.UTC().Format(time.RFC3339)
	}
	var page bytes.Buffer
	if err := pageTemplate.Execute(&page, data); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", serveBytes("text/html; charset=utf-8", page.Bytes()))
	mux.HandleFunc("GET /session.cast", serveBytes("application/x-asciicast", cast))
	for _, name := range []string{"asciinema-player.min.js", "asciinema-player.css", "app.js", "page.css"} {
		b, err := webAssets.ReadFile(path.Join("web", name))
		if err != nil {
			return nil, err
		}
		typ := "text/css; charset=utf-8"
		if path.Ext(name) == ".js" {
			typ = "text/javascript; charset=utf-8"
		}
		mux.HandleFunc("GET /"+name, serveBytes(typ, b))
	}
	return securityHeaders(mux), nil
}

func serveBytes(contentType string, b []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
	}
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", webPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
