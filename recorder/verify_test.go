package recorder

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// record writes a closed, signed recording of session id at path, with a
// checkpoint after the third event, and returns the manifest.
func record(t *testing.T, path, id string) Manifest {
	t.Helper()
	clk := newFakeClock()
	w, err := Create(path, testHeader(id), Options{Clock: clk.Now, Signer: testKey, CheckpointEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range []string{"$ psql\r\n", "\x1b[1mname\x1b[0m | mrn\r\n", "alice | ****\r\n"} {
		clk.Advance(time.Duration(i+1) * 100 * time.Millisecond)
		if err := w.Output([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"bob | ****\r\n", "(2 rows)\r\n"} {
		clk.Advance(time.Second)
		if err := w.Output([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := w.Close(ExitInfo{Status: 0})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func rewrite(t *testing.T, path string, edit func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, edit(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// lineSpan returns the byte range of line i (0 = header), newline included.
func lineSpan(data []byte, i int) (start, end int) {
	for ; i > 0; i-- {
		start += bytes.IndexByte(data[start:], '\n') + 1
	}
	return start, start + bytes.IndexByte(data[start:], '\n') + 1
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name     string
		tamper   func(t *testing.T, path string)
		pub      []byte
		want     error // nil: verifies
		verified int64 // for ErrIncomplete
	}{
		{name: "intact", tamper: func(*testing.T, string) {}},
		{name: "intact-unsigned-check", tamper: func(*testing.T, string) {}, pub: []byte{}},
		{name: "modify-byte-before-checkpoint", want: ErrChainMismatch, tamper: func(t *testing.T, p string) {
			rewrite(t, p, func(b []byte) []byte { b[bytes.Index(b, []byte("alice"))] = 'A'; return b })
		}},
		{name: "modify-byte-after-checkpoint", want: ErrChainMismatch, tamper: func(t *testing.T, p string) {
			rewrite(t, p, func(b []byte) []byte { b[bytes.Index(b, []byte("2 rows"))] = '9'; return b })
		}},
		{name: "modify-time", want: ErrChainMismatch, tamper: func(t *testing.T, p string) {
			rewrite(t, p, func(b []byte) []byte { s, _ := lineSpan(b, 4); b[s+1] = '7'; return b })
		}},
		{name: "modify-newline", want: ErrChainMismatch, tamper: func(t *testing.T, p string) {
			rewrite(t, p, func(b []byte) []byte { _, e := lineSpan(b, 4); b[e-1] = ' '; return b })
		}},
		{name: "delete-line-before-checkpoint", want: ErrChainMismatch, tamper: func(t *testing.T, p string) {
			rewrite(t, p, func(b []byte) []byte { s, e := lineSpan(b, 2); return append(b[:s:s], b[e:]...) })
		}},
		{name: "delete-line-after-checkpoint", want: ErrChainMismatch, tamper: func(t *testing.T, p string) {
			rewrite(t, p, func(b []byte) []byte { s, e := lineSpan(b, 4); return append(b[:s:s], b[e:]...) })
		}},
		{name: "insert-line", want: ErrChainMismatch, tamper: func(t *testing.T, p string) {
			rewrite(t, p, func(b []byte) []byte {
				s, _ := lineSpan(b, 4)
				return append(append(b[:s:s], "[0.5,\"o\",\"forged\"]\n"...), b[s:]...)
			})
		}},
		{name: "append-line", want: ErrChainMismatch, tamper: func(t *testing.T, p string) {
			rewrite(t, p, func(b []byte) []byte { return append(b, "[9.0,\"o\",\"forged\"]\n"...) })
		}},
		{name: "truncate-mid-line", want: ErrTruncated, tamper: func(t *testing.T, p string) {
			rewrite(t, p, func(b []byte) []byte { s, _ := lineSpan(b, 5); return b[:s+5] })
		}},
		{name: "truncate-at-line", want: ErrTruncated, tamper: func(t *testing.T, p string) {
			rewrite(t, p, func(b []byte) []byte { s, _ := lineSpan(b, 5); return b[:s] })
		}},
		{name: "truncate-before-checkpoint", want: ErrTruncated, tamper: func(t *testing.T, p string) {
			rewrite(t, p, func(b []byte) []byte { s, _ := lineSpan(b, 2); return b[:s] })
		}},
		{name: "truncate-to-empty", want: ErrTruncated, tamper: func(t *testing.T, p string) {
			rewrite(t, p, func([]byte) []byte { return nil })
		}},
		{name: "swap-manifest-other-session", want: ErrManifestMismatch, tamper: func(t *testing.T, p string) {
			other := filepath.Join(t.TempDir(), filepath.Base(p)) // same file name
			record(t, other, "s2")
			copyFile(t, ManifestPath(other), ManifestPath(p))
		}},
		{name: "swap-manifest-other-file", want: ErrManifestMismatch, tamper: func(t *testing.T, p string) {
			other := filepath.Join(filepath.Dir(p), "other.cast")
			record(t, other, "s1") // same session id
			copyFile(t, ManifestPath(other), ManifestPath(p))
		}},
		{name: "edit-manifest", want: ErrBadSignature, tamper: func(t *testing.T, p string) {
			rewrite(t, ManifestPath(p), func(b []byte) []byte { return bytes.Replace(b, []byte(`"events":6`), []byte(`"events":5`), 1) })
		}},
		{name: "manifest-by-other-key", want: ErrBadSignature, tamper: func(t *testing.T, p string) {
			m, err := readManifest(p)
			if err != nil {
				t.Fatal(err)
			}
			m.Key = base64.StdEncoding.EncodeToString(otherPub)
			m.Signature, _ = signCanonical(otherKey, m.signed())
			rewrite(t, ManifestPath(p), func([]byte) []byte { return m.encode() })
		}},
		{name: "manifest-unsigned", want: ErrBadSignature, tamper: func(t *testing.T, p string) {
			rewrite(t, ManifestPath(p), func(b []byte) []byte {
				return regexp.MustCompile(`,"signature":"[^"]*"`).ReplaceAll(b, nil)
			})
		}},
		{name: "manifest-garbage", want: ErrMalformed, tamper: func(t *testing.T, p string) {
			rewrite(t, ManifestPath(p), func([]byte) []byte { return []byte("{not json") })
		}},
		{name: "edit-checkpoint", want: ErrBadSignature, tamper: func(t *testing.T, p string) {
			rewrite(t, CheckpointsPath(p), func(b []byte) []byte { return bytes.Replace(b, []byte(`"events":3`), []byte(`"events":2`), 1) })
		}},
		{name: "no-manifest", want: ErrIncomplete, verified: 3, tamper: func(t *testing.T, p string) {
			os.Remove(ManifestPath(p))
		}},
		{name: "no-manifest-truncated", want: ErrTruncated, tamper: func(t *testing.T, p string) {
			os.Remove(ManifestPath(p))
			rewrite(t, p, func(b []byte) []byte { s, _ := lineSpan(b, 3); return b[:s] })
		}},
		{name: "no-manifest-modified", want: ErrChainMismatch, tamper: func(t *testing.T, p string) {
			os.Remove(ManifestPath(p))
			rewrite(t, p, func(b []byte) []byte { b[bytes.Index(b, []byte("alice"))] = 'A'; return b })
		}},
		{name: "nothing", want: ErrNoManifest, tamper: func(t *testing.T, p string) {
			os.Remove(ManifestPath(p))
			os.Remove(CheckpointsPath(p))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s1.cast")
			record(t, path, "s1")
			tt.tamper(t, path)
			pub := testPub
			if tt.pub != nil {
				pub = tt.pub
			}
			if len(pub) == 0 {
				pub = nil
			}
			res, err := Verify(path, pub)
			if tt.want == nil {
				if err != nil || !res.Complete || res.Verified != 6 || res.Events != 6 || res.Signed != (pub != nil) {
					t.Fatalf("Verify = %v, %v; want complete", res, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if tt.want == ErrIncomplete && (res.Verified != tt.verified || res.Complete) {
				t.Errorf("result = %v, want verified up to %d", res, tt.verified)
			}
			t.Logf("%v: %v", err, res)
		})
	}
}

func TestVerifyCrashedSession(t *testing.T) {
	w, path, clk := newTestWriter(t, Options{Signer: testKey, CheckpointEvery: time.Hour})
	for i := range 5 {
		clk.Advance(time.Second)
		if err := w.Output([]byte{'a' + byte(i), '\n'}); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			if err := w.Checkpoint(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// No Close: the process died. The file holds all five events.
	res, err := Verify(path, testPub)
	if !errors.Is(err, ErrIncomplete) || res.Verified != 3 || res.Events != 5 {
		t.Fatalf("Verify = %v, %v; want incomplete, verified up to event 3 of 5", res, err)
	}
	if got := res.String(); got != "incomplete: verified up to event 3 of 5, signed" {
		t.Errorf("String() = %q", got)
	}
}

func TestManifestCanonical(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s1.cast")
	m := record(t, path, "s1")
	data, err := os.ReadFile(ManifestPath(path))
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := m.MarshalJSON()
	if !bytes.Equal(data, enc) {
		t.Errorf("manifest file\n%s\nwant\n%s", data, enc)
	}
	want := `{"bytes":` // keys sorted, no spaces
	if !bytes.HasPrefix(data, []byte(want)) || bytes.Contains(data, []byte(": ")) {
		t.Errorf("manifest not canonical: %s", data)
	}
	if m.Events != 6 || m.SessionID != "s1" || m.File != "s1.cast" || m.Signature == "" {
		t.Errorf("manifest = %+v", m)
	}
	rec := LogRecord(m)
	if bytes.IndexByte(rec, '\n') >= 0 || !bytes.Contains(rec, []byte(`"session_id":"s1"`)) {
		t.Errorf("LogRecord = %s", rec)
	}
}
