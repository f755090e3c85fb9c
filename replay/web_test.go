package replay

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWebPlayer(t *testing.T) {
	cast := `{"version":2,"width":80,"height":24,"timestamp":1700000000,"command":"echo <b>hi</b>",` +
		`"bastion":{"session_id":"s-1","identity":"<script>alert(1)</script>@example.com","source":"127.0.0.1:5","target":"db","login":"postgres","kind":"exec"}}` + "\n" +
		`[0.5,"o","hi\r\n"]` + "\n" + `[1.25,"m","exit 0"]` + "\n"
	file := filepath.Join(t.TempDir(), "s-1.cast")
	if err := os.WriteFile(file, []byte(cast), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := WebPlayer(file, Verification{OK: false, Summary: "NOT VERIFIED: chain broken"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) (*http.Response, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, page := get("/")
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self' 'wasm-unsafe-eval';") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
		t.Errorf("CSP = %q", csp)
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;@example.com", `class="bad">NOT VERIFIED: chain broken`, `data-end="1.250"`, "echo &lt;b&gt;hi&lt;/b&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<script>alert") {
		t.Error("identity not escaped")
	}
	if _, body := get("/session.cast"); body != cast {
		t.Errorf("cast served differs from the file")
	}
	if resp, body := get("/asciinema-player.min.js"); resp.StatusCode != http.StatusOK || len(body) < 100_000 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("player script: %d, %d bytes, %s", resp.StatusCode, len(body), resp.Header.Get("Content-Type"))
	}
	if resp, _ := get("/../../etc/passwd"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
	if _, err := WebPlayer(filepath.Join(t.TempDir(), "missing.cast"), Verification{}); err == nil {
		t.Error("missing recording accepted")
	}
}
