package evidence

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMemberNames(t *testing.T) {
	for name, ok := range map[string]bool{
		"sessions/abc-1/x.cast": true, "MANIFEST.json": true,
		"": false, "/etc/passwd": false, "../x": false, "a/../../x": false, "a//b": false,
		"a/./b": false, "a\\b": false, "sessions/\x1b[2J": false, "a b": false,
	} {
		if got := checkMemberName(name) == nil; got != ok {
			t.Errorf("checkMemberName(%q) ok = %v, want %v", name, got, ok)
		}
	}
}

// The recording becomes a JavaScript string that nothing in it can end.
func TestCastScript(t *testing.T) {
	cast := "{\"version\":2}\n[0.1,\"o\",\"</script><script>alert(1)</script>\\u2028\"]\n\u2028\"\\\x7f"
	path := filepath.Join(t.TempDir(), "x.cast")
	os.WriteFile(path, []byte(cast), 0o600)
	var buf bytes.Buffer
	n, err := castScript(&buf, path)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("castScript: %d, %v (wrote %d)", n, err, buf.Len())
	}
	js := buf.String()
	if strings.ContainsAny(js, "<>\u2028\x7f") {
		t.Errorf("unescaped characters in %q", js)
	}
	lit, ok := strings.CutPrefix(strings.TrimSuffix(js, ";\n"), "window.BASTION_CAST = ")
	var back string
	if !ok || json.Unmarshal([]byte(lit), &back) != nil || back != cast {
		t.Errorf("the string does not decode to the recording: %q", js)
	}
}

// Verify reads untrusted archives: whatever the bytes, it returns a result
// or an error, never panics, and never writes outside its folder.
func FuzzVerify(f *testing.F) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range []struct{ name, body string }{
		{"keys/signing_key.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvMyLNmtnCSXQ3fSrUYGpkyMyHKxnf5xx9ivwyCBgpk\n"},
		{"../escape", "x"}, {"MANIFEST.json", `{"type":"bastion.evidence.manifest.v1","files":[]}`},
	} {
		tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(m.body))
	}
	tw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Verify(bytes.NewReader(data), nil)
		if err == nil && res.OK() && len(data) > 0 {
			t.Fatalf("an arbitrary archive verified: %+v", res)
		}
	})
}
