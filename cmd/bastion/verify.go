package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"

	"github.com/bastion-ssh/bastion/config"

	"github.com/bastion-ssh/bastion/recorder"
)

func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", "verify [--key SIGNING_KEY.pub] SESSION_ID|FILE.cast | --all [--tree-head FILE]", stdout)
	all := fs.Bool("all", false, "verify the session log, every session and the audit trail")
	keyFile := fs.String("key", "", "the bastion's signing public key (default: DATA/signing_key.pub)")
	asJSON := fs.Bool("json", false, "print JSON")
	raw := fs.Bool("raw", false, "print recorded text as is, control characters included")
	var heads stringList
	fs.Var(&heads, "tree-head", "with --all: a signed tree head saved earlier (bastion log head, or a syslog witness line); the log must extend it (repeatable)")
	witness := fs.String("witness", "", "with --all: the witness file (default: the config's evidence.witness_file)")
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
		in, err := verifyInputFor(df, dir, pub, heads, *witness)
		if err != nil {
			return err
		}
		rep, err := verifyAll(ctx, in)
		in.source.close()
		if err != nil {
			return err
		}
		if *asJSON {
			if err := writeJSON(stdout, rep); err != nil {
				return err
			}
		} else {
			rep.print(stdout, display(*raw))
		}
		if n := len(rep.Problems); n > 0 {
			return fmt.Errorf("verify: %d problems", n)
		}
		return nil
	}
	path, _, err := recordingPath(ctx, df, fs.Arg(0))
	if err != nil {
		return err
	}
	src, err := newRecordingSource(*df.config)
	if err != nil {
		return err
	}
	defer src.close()
	local, fromBucket, err := src.open(ctx, path)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if fromBucket {
		fmt.Fprintf(stderr, "verify: %s is not on this node; verifying the copy in bucket %s\n", path, src.bucket.Name())
	}
	res, verr := recorder.Verify(local, pub)
	if *asJSON {
		out := map[string]any{"file": path, "result": res, "ok": verr == nil}
		if verr != nil {
			out["error"] = verr.Error()
		}
		if err := writeJSON(stdout, out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "%s: %s\n", display(*raw).s(path), res)
	}
	if verr != nil {
		return fmt.Errorf("verify %s: %w", path, verr)
	}
	return nil
}

// verifyInputFor gathers what verify --all compares the data directory
// with: the tree heads saved outside it.
func verifyInputFor(df dataFlags, dir string, pub ed25519.PublicKey, heads []string, witness string) (verifyInput, error) {
	in := verifyInput{dataDir: dir, recordingsDir: filepath.Join(dir, "recordings"), pub: pub}
	var err error
	if in.source, err = newRecordingSource(*df.config); err != nil {
		return in, err
	}
	if *df.config != "" {
		cfg, err := config.Load(*df.config)
		if err != nil {
			return in, err
		}
		in.node = cfg.NodeName()
		if witness == "" {
			witness = cfg.Evidence.WitnessFile
		}
		if !inside(cfg.DataDir, cfg.RecordingDir()) {
			in.recordingsDir = cfg.RecordingDir()
		}
		if cfg.Store.Postgres != nil {
			sc, err := configStore(cfg)
			if err != nil {
				return in, err
			}
			in.store = &sc
		}
	}
	if witness != "" {
		head, err := recorder.FileWitness(witness).Head()
		if err != nil {
			return in, err
		}
		if head == nil {
			return in, fmt.Errorf("witness %s holds no tree head", witness)
		}
		in.heads = append(in.heads, savedHead{from: witness, head: head})
	}
	for _, f := range heads {
		data, err := os.ReadFile(f)
		if err != nil {
			return in, fmt.Errorf("--tree-head: %w", err)
		}
		head, err := recorder.ParseWitnessedHead(data)
		if err != nil {
			return in, fmt.Errorf("--tree-head %s: %w", f, err)
		}
		in.heads = append(in.heads, savedHead{from: f, head: head})
	}
	return in, nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return fmt.Sprint(*l) }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// signingPublicKey reads keyFile; by default the public key beside the
// config's signing_key, or the data directory's signing_key.pub.
func signingPublicKey(df dataFlags, keyFile string) (ed25519.PublicKey, error) {
	if keyFile == "" && *df.config != "" {
		if cfg, err := config.Load(*df.config); err == nil {
			if _, err := os.Stat(cfg.SigningKey + ".pub"); err == nil {
				keyFile = cfg.SigningKey + ".pub"
			}
		}
	}
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
