package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"os"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/policies"
)

// checkServe is what `serve` verifies before it starts, and all that
// `serve --check` does: the config parses and validates, every secret
// file is private (0600 or stricter), every key and the TLS pair load,
// the policy validates, the PostgreSQL connection string (if any) is
// there, and the data directory, if present, is a directory. Neither a
// Vault signer nor PostgreSQL is contacted.
func checkServe(file string) (*config.Config, error) {
	cfg, err := config.Load(file)
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckSecretFiles(); err != nil {
		return nil, err
	}
	if _, err := cfg.PostgresDSN(); err != nil {
		return nil, err
	}
	keys := []struct{ field, path string }{{"host_key", cfg.HostKey}}
	if cfg.Signer.Type == config.SignerLocal {
		keys = append(keys, struct{ field, path string }{"user_ca_key", cfg.UserCAKey})
		if cfg.TargetCAKey != "" {
			keys = append(keys, struct{ field, path string }{"target_ca_key", cfg.TargetCAKey})
		}
	}
	for _, t := range cfg.Targets {
		if t.Credential.Type == config.CredentialKey {
			keys = append(keys, struct{ field, path string }{"target " + t.Name + " credential.key_file", t.Credential.KeyFile})
		}
	}
	for _, k := range keys {
		if _, err := certauth.LoadKey(k.path); err != nil {
			return nil, fmt.Errorf("%s: %w", k.field, err)
		}
	}
	if _, err := certauth.LoadEd25519(cfg.SigningKey); err != nil {
		return nil, fmt.Errorf("signing_key: %w", err)
	}
	if _, err := certauth.LoadPublicKeys(cfg.TrustedUserCAs...); err != nil {
		return nil, fmt.Errorf("trusted_user_cas: %w", err)
	}
	if cfg.HTTP.Listen != "" {
		if _, err := tls.LoadX509KeyPair(cfg.HTTP.TLSCert, cfg.HTTP.TLSKey); err != nil {
			return nil, fmt.Errorf("http.tls_cert/tls_key: %w", err)
		}
	}
	if cfg.Recording.S3.Enabled() {
		if _, _, err := cfg.Recording.S3.Keys(); err != nil {
			return nil, err
		}
	}
	if _, err := policies.Load(cfg.Policy); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	// A missing data directory is created by serve; anything else there
	// is a mistake.
	if st, err := os.Stat(cfg.DataDir); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("data_dir: %s is not a directory", cfg.DataDir)
	}
	return cfg, nil
}

// printCheck reports a passed check and what is still missing for use.
func printCheck(w io.Writer, cfg *config.Config) {
	fmt.Fprintf(w, "%s: config, policy and keys OK (%d targets", cfg.File, len(cfg.Targets))
	if cfg.Signer.Type == config.SignerVault {
		fmt.Fprintf(w, "; Vault at %s not contacted", cfg.Signer.Vault.Address)
	}
	if cfg.Store.Postgres != nil {
		fmt.Fprint(w, "; PostgreSQL store not contacted")
	}
	if s := cfg.Recording.S3; s.Enabled() {
		fmt.Fprintf(w, "; recordings shipped to bucket %s at %s, not contacted", s.Bucket, s.Endpoint)
	}
	fmt.Fprintln(w, ")")
	// Nodes serving as one share one signing key (README: Behind a load
	// balancer); comparing this line across them shows that they do.
	if key, err := certauth.LoadEd25519(cfg.SigningKey); err == nil {
		if pub, err := ssh.NewPublicKey(key.Public()); err == nil {
			fmt.Fprintf(w, "node %s; signing key %s\n", cfg.NodeName(), ssh.FingerprintSHA256(pub))
		}
	}
	if len(cfg.Targets) == 0 {
		fmt.Fprintf(w, "note: no targets yet: nobody can reach anything until targets are added to %s\n", cfg.File)
	}
}
