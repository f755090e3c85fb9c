package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/bastion-ssh/bastion/config"
)

// fingerprintSecretLen is the size of a generated fingerprint secret, and
// the least a configured one must hold.
const fingerprintSecretLen = 32

// loadFingerprintSecret reads the secret that keys the fingerprints of
// masked values (see config.Config.FingerprintSecret). The default file in
// the data directory is created on first start; a configured file must
// exist. A file readable by group or others is refused: with the secret, a
// value of low entropy (an SSN has a billion) is recovered from its
// fingerprint by trying them all.
func loadFingerprintSecret(cfg *config.Config, log *slog.Logger) ([]byte, error) {
	path, isDefault := cfg.FingerprintSecretFile()
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && isDefault {
		secret := make([]byte, fingerprintSecretLen)
		rand.Read(secret)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("fingerprint_secret: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("fingerprint_secret: %w", err)
		}
		if _, err := f.Write(secret); err != nil {
			f.Close()
			return nil, fmt.Errorf("fingerprint_secret: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("fingerprint_secret: %w", err)
		}
		log.Info("created the fingerprint secret", "path", path)
		return secret, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fingerprint_secret: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("fingerprint_secret: %s is readable by group or others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	secret, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fingerprint_secret: %w", err)
	}
	if len(secret) < fingerprintSecretLen {
		return nil, fmt.Errorf("fingerprint_secret: %s holds %d bytes, want at least %d", path, len(secret), fingerprintSecretLen)
	}
	return secret, nil
}
