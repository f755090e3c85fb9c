package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bastion-ssh/bastion/config"
)

func TestFingerprintSecret(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := filepath.Join(t.TempDir(), "data") // not created yet, as on a first start
	cfg := &config.Config{DataDir: dir}
	first, err := loadFingerprintSecret(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "fingerprint_secret"))
	if err != nil || st.Mode().Perm() != 0o600 || len(first) != fingerprintSecretLen {
		t.Fatalf("created secret: %v %v, %d bytes", st.Mode(), err, len(first))
	}
	again, err := loadFingerprintSecret(cfg, log)
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("second start: %v, same secret %v", err, bytes.Equal(first, again))
	}
	for _, tc := range []struct {
		name, want string
		mode       os.FileMode
		content    []byte
		missing    bool
	}{
		{name: "configured-missing", want: "no such file", missing: true},
		{name: "group-readable", want: "readable by group", mode: 0o640, content: bytes.Repeat([]byte{1}, 32)},
		{name: "short", want: "want at least 32", mode: 0o600, content: []byte("short")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secret")
			if !tc.missing {
				os.WriteFile(path, tc.content, tc.mode)
				os.Chmod(path, tc.mode)
			}
			_, err := loadFingerprintSecret(&config.Config{DataDir: dir, FingerprintSecret: path}, log)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
