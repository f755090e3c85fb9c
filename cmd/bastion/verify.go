package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/recorder"
)

func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", "verify [--key SIGNING_KEY.pub] SESSION_ID|FILE.cast | --all", stdout)
	all := fs.Bool("all", false, "verify the session log and every recorded session")
	keyFile := fs.String("key", "", "the bastion's signing public key (default: DATA/signing_key.pub)")
	asJSON := fs.Bool("json", false, "print JSON")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	if (fs.NArg() != 1) == !*all {
		return usagef("verify: want one session id or .cast file, or --all")
	}
	pub, err := signingPublicKey(df, *keyFile)
	if err != nil {
		return err
	}
	if *all {
		dir, err := df.dir()
		if err != nil {
			return err
		}
		return verifyAll(ctx, stdout, dir, pub)
	}
	path, _, err := recordingPath(ctx, df, fs.Arg(0))
	if err != nil {
		return err
	}
	res, verr := recorder.Verify(path, pub)
	if *asJSON {
		out := map[string]any{"file": path, "result": res, "ok": verr == nil}
		if verr != nil {
			out["error"] = verr.Error()
		}
		if err := writeJSON(stdout, out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "%s: %s\n", path, res)
	}
	if verr != nil {
		return fmt.Errorf("verify %s: %w", path, verr)
	}
	return nil
}

// signingPublicKey reads keyFile, by default the data directory's
// signing_key.pub.
func signingPublicKey(df dataFlags, keyFile string) (ed25519.PublicKey, error) {
	if keyFile == "" {
		dir, err := df.dir()
		if err != nil {
			return nil, fmt.Errorf("no signing key: pass --key (%w)", err)
		}
		keyFile = filepath.Join(dir, "signing_key.pub")
	}
	return readEd25519Public(keyFile)
}

func readEd25519Public(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ck, ok := k.(ssh.CryptoPublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: not a signing key", path)
	}
	pub, ok := ck.CryptoPublicKey().(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: want an ed25519 key", path)
	}
	return pub, nil
}
