package certauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// LoadKey reads an OpenSSH private key file. A missing key is an error:
// outside `bastion dev` keys are never generated silently.
func LoadKey(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("certauth: read key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("certauth: parse key %s: %w", path, err)
	}
	return s, nil
}

// LoadOrCreateKey loads the key at path, creating an ed25519 key (0600) when
// the file does not exist. Only `bastion dev` and `bastion ca init` use it.
func LoadOrCreateKey(path string) (ssh.Signer, error) {
	s, err := LoadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("certauth: %w", err)
	}
	// A public half left without its private key describes nothing.
	if err := os.Remove(path + ".pub"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("certauth: %w", err)
	}
	return CreateKey(path)
}

// CreateKey writes a new ed25519 key to path (0600) and its public half to
// path.pub (0644). It never overwrites: an existing file is an error
// wrapping fs.ErrExist.
func CreateKey(path string) (ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certauth: generate key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, fmt.Errorf("certauth: marshal key: %w", err)
	}
	if err := writeFileExcl(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	if err := writeFileExcl(path+".pub", ssh.MarshalAuthorizedKey(mustSigner(priv).PublicKey()), 0o644); err != nil {
		return nil, err
	}
	return mustSigner(priv), nil
}

// LoadPublicKeys reads authorized_keys-format files (one or more keys each).
func LoadPublicKeys(paths ...string) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("certauth: %w", err)
		}
		for len(data) > 0 {
			k, _, _, rest, err := ssh.ParseAuthorizedKey(data)
			if err != nil {
				if len(keys) > 0 || len(rest) == 0 {
					break
				}
				return nil, fmt.Errorf("certauth: parse %s: %w", p, err)
			}
			keys = append(keys, k)
			data = rest
		}
	}
	return keys, nil
}

func mustSigner(priv ed25519.PrivateKey) ssh.Signer {
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		panic(err) // an ed25519 key from GenerateKey is always valid
	}
	return s
}

func writeFileExcl(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("certauth: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("certauth: write %s: %w", path, err)
	}
	return f.Close()
}

// LoadEd25519 reads an OpenSSH ed25519 private key file as a raw key, for
// signing things that are not SSH certificates (recording manifests).
func LoadEd25519(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("certauth: read key: %w", err)
	}
	raw, err := ssh.ParseRawPrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("certauth: parse key %s: %w", path, err)
	}
	switch k := raw.(type) {
	case *ed25519.PrivateKey:
		return *k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("certauth: %s: want an ed25519 key, got %T", path, raw)
}
