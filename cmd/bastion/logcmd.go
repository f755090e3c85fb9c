package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"

	"github.com/bastion-ssh/bastion/recorder"
	"github.com/bastion-ssh/bastion/store"
)

// cmdLog serves `bastion log head`: the current signed tree head, for an
// auditor to keep and later pass to `verify --all --tree-head FILE`.
func cmdLog(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "head" {
		fmt.Fprintln(stdout, "usage: bastion log head [--data DIR] [--key SIGNING_KEY.pub] > head.txt")
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return nil
		}
		return usagef("log: want the subcommand head")
	}
	fs := newFlags("log head", "log head [flags]", stdout)
	keyFile := fs.String("key", "", "the bastion's signing public key (default: DATA/signing_key.pub)")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args[1:]); err != nil {
		return helpOK(err)
	}
	dir, err := df.dir()
	if err != nil {
		return err
	}
	pub, err := signingPublicKey(df, *keyFile)
	if err != nil {
		return err
	}
	head, err := verifiedHead(ctx, df, dir, pub)
	if err != nil {
		return fmt.Errorf("log head: %w", err)
	}
	_, err = stdout.Write(head)
	return err
}

// verifiedHead returns the newest signed head of the session log (the
// store's when --config names PostgreSQL), one the log verifies against,
// not just what a file or a row holds.
func verifiedHead(ctx context.Context, df dataFlags, dir string, pub ed25519.PublicKey) ([]byte, error) {
	if sc, err := df.storeConfig(); err == nil && sc.PostgresDSN != "" {
		st, err := store.Connect(ctx, sc)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		snap, err := snapshotSessionLog(ctx, st, dir, pub)
		if err != nil {
			return nil, err
		}
		return snap.Head, nil
	}
	if _, err := recorder.VerifyLog(logDir(dir), pub); err != nil {
		return nil, err
	}
	return recorder.ReadHead(logDir(dir))
}
