package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/store"
)

func cmdCA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintln(stdout, "usage: bastion ca sign|revoke [flags] ...\n\n  sign     issue a short-lived user certificate for a public key\n  revoke   revoke a certificate serial, or every current certificate of an identity")
		if len(args) == 0 {
			return usagef("ca: missing subcommand")
		}
		return nil
	}
	switch args[0] {
	case "sign":
		return cmdCASign(ctx, args[1:], stdout)
	case "revoke":
		return cmdCARevoke(ctx, args[1:], stdout)
	}
	return usagef("ca: unknown subcommand %q", args[0])
}

func cmdCASign(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("ca sign", "ca sign --identity ID [flags] KEY.pub", stdout)
	identity := fs.String("identity", "", "identity the certificate names, e.g. alice@example.com (required)")
	groups := fs.String("groups", "", "comma-separated groups")
	ttl := fs.Duration("ttl", certauth.DefaultUserTTL, "validity period")
	principal := fs.String("principal", "", "certificate principal (default: the identity's local part)")
	source := fs.String("source-address", "", "restrict use to these comma-separated CIDRs")
	caKey := fs.String("ca-key", "", "user CA private key (default: the config's user_ca_key, or DATA/user_ca)")
	out := fs.String("out", "", "certificate file (default: KEY-cert.pub beside the key)")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() != 1 {
		return usagef("ca sign: want exactly one public key file")
	}
	if *identity == "" {
		return usagef("ca sign: --identity is required")
	}
	keyFile := fs.Arg(0)
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return fmt.Errorf("%s: not an SSH public key: %w", keyFile, err)
	}
	caPath, err := userCAPath(*caKey, df)
	if err != nil {
		return err
	}
	signer, err := certauth.LoadKey(caPath)
	if err != nil {
		return err
	}
	var groupList []string
	if *groups != "" {
		groupList = strings.Split(*groups, ",")
	}
	ca := &certauth.Authority{Signer: signer}
	cert, err := ca.SignUser(certauth.UserRequest{
		PublicKey: pub, Identity: *identity, Login: *principal, Groups: groupList,
		TTL: *ttl, SourceAddress: *source,
	})
	if err != nil {
		return err
	}
	if st, err := df.openStore(); err == nil {
		defer st.Close()
		err := st.Audit(ctx, store.Event{Type: "cert.issue", Outcome: store.OutcomeAllowed, Identity: *identity,
			Reason: "bastion ca sign", Detail: map[string]any{
				"serial": strconv.FormatUint(cert.Serial, 10), "key_id": cert.KeyId,
				"fingerprint": ssh.FingerprintSHA256(pub), "groups": groupList,
				"valid_before": time.Unix(int64(cert.ValidBefore), 0).UTC().Format(time.RFC3339),
			}})
		if err != nil {
			return fmt.Errorf("certificate not issued: %w", err)
		}
	}
	path := *out
	if path == "" {
		path = strings.TrimSuffix(keyFile, ".pub") + "-cert.pub"
	}
	if err := os.WriteFile(path, ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", path)
	return nil
}

// userCAPath finds the user CA key: --ca-key, else the config's, else the
// data directory's user_ca.
func userCAPath(flagValue string, df dataFlags) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if *df.config != "" {
		cfg, err := config.Load(*df.config)
		if err != nil {
			return "", err
		}
		if cfg.Signer.Type == config.SignerVault {
			return "", fmt.Errorf("%s: Vault holds the user CA key (signer.type vault): sign with `vault write %s/sign/%s`, or pass --ca-key", *df.config, cfg.Signer.Vault.Mount, cfg.Signer.Vault.UserRole)
		}
		return cfg.UserCAKey, nil
	}
	dir, err := df.dir()
	if err != nil {
		return "", fmt.Errorf("no user CA key: pass --ca-key or --config (%w)", err)
	}
	return filepath.Join(dir, "user_ca"), nil
}
