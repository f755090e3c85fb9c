package config

import (
	"errors"
	"fmt"
	"os"
)

// ErrKeyPermissions is wrapped when a secret file can be read or written
// by someone other than its owner.
var ErrKeyPermissions = errors.New("key file too open")

// SecretFile is one file the config names that must stay private: a
// private key, the TLS key, a Vault token.
type SecretFile struct {
	Field string // the config field naming it, e.g. "host_key"
	Path  string
}

// SecretFiles lists the private files the config names, in field order.
func (c *Config) SecretFiles() []SecretFile {
	var out []SecretFile
	add := func(field, path string) {
		if path != "" {
			out = append(out, SecretFile{field, path})
		}
	}
	add("host_key", c.HostKey)
	add("user_ca_key", c.UserCAKey)
	add("target_ca_key", c.TargetCAKey)
	add("signing_key", c.SigningKey)
	add("http.tls_key", c.HTTP.TLSKey)
	add("signer.vault.token_file", c.Signer.Vault.TokenFile)
	if c.Store.Postgres != nil {
		add("store.postgres.dsn_file", c.Store.Postgres.DSNFile)
	}
	add("recording.s3.secret_key_file", c.Recording.S3.SecretKeyFile)
	for i, t := range c.Targets {
		add(fmt.Sprintf("targets[%d].credential.key_file", i), t.Credential.KeyFile)
	}
	return out
}

// CheckSecretFiles refuses a secret file that is missing, not a regular
// file, or has any group or other permission bit, as sshd refuses a
// private key "too open": whoever reads a CA key can mint certificates
// for anyone. The error names the file and the fix.
func (c *Config) CheckSecretFiles() error {
	for _, f := range c.SecretFiles() {
		if err := checkPrivate(f); err != nil {
			return err
		}
	}
	return nil
}

func checkPrivate(f SecretFile) error {
	st, err := os.Stat(f.Path)
	if err != nil {
		return fmt.Errorf("config: %s: %w", f.Field, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("config: %s: %s is not a regular file", f.Field, f.Path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s: %s has mode %04o, so group or others can use it; fix with: chmod 600 %s",
			ErrKeyPermissions, f.Field, f.Path, perm, f.Path)
	}
	return nil
}
