package main

import (
	"context"
	"fmt"
	"io"

	"github.com/bastion-ssh/bastion/recorder"
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
	// The head printed is one the log verifies against, not just the file.
	if _, err := recorder.VerifyLog(logDir(dir), pub); err != nil {
		return fmt.Errorf("log head: %w", err)
	}
	head, err := recorder.ReadHead(logDir(dir))
	if err != nil {
		return err
	}
	_, err = stdout.Write(head)
	return err
}
