package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/bastion-ssh/bastion/certauth"
	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/evidence"
	"github.com/bastion-ssh/bastion/store"
)

func cmdEvidence(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: bastion evidence export [--since T] [--until T] [--identity ID] [--target T] [--session ID] -o FILE.tar\n" +
		"       bastion evidence verify [--key SIGNING_KEY.pub] FILE.tar"
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintln(stdout, usage)
		if len(args) == 0 {
			return usagef("evidence: missing subcommand")
		}
		return nil
	}
	switch args[0] {
	case "export":
		return cmdEvidenceExport(ctx, args[1:], stdout, stderr)
	case "verify":
		return cmdEvidenceVerify(args[1:], stdout)
	}
	return usagef("evidence: unknown subcommand %q", args[0])
}

func cmdEvidenceExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("evidence export", "evidence export [flags] -o FILE.tar", stdout)
	out := fs.String("o", "", "the bundle to write (a tar archive)")
	since := fs.String("since", "", "sessions started and events at or after: RFC 3339 time, date or duration ago")
	until := fs.String("until", "", "sessions started and events at or before")
	identity := fs.String("identity", "", "only this identity")
	target := fs.String("target", "", "only this target")
	session := fs.String("session", "", "only this session")
	keyFile := fs.String("signing-key", "", "the signing private key (default: the config's signing_key, or DATA/signing_key)")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	if *out == "" || fs.NArg() != 0 {
		return usagef("evidence export: want -o FILE.tar and no arguments")
	}
	f := evidence.Filter{Identity: *identity, Target: *target, Session: *session}
	var err error
	if f.Since, err = parseTimeFlag("since", *since, time.Now()); err != nil {
		return err
	}
	if f.Until, err = parseTimeFlag("until", *until, time.Now()); err != nil {
		return err
	}
	dir, err := df.dir()
	if err != nil {
		return err
	}
	// Recordings are read as ID.cast here, never from a row's path.
	recordings := filepath.Join(dir, "recordings")
	if *df.config != "" {
		cfg, err := config.Load(*df.config)
		if err != nil {
			return err
		}
		if *keyFile == "" {
			*keyFile = cfg.SigningKey
		}
		if !inside(cfg.DataDir, cfg.RecordingDir()) {
			recordings = cfg.RecordingDir()
		}
	}
	if *keyFile == "" {
		*keyFile = filepath.Join(dir, "signing_key")
	}
	key, err := certauth.LoadEd25519(*keyFile)
	if err != nil {
		return fmt.Errorf("evidence export: signing key: %w", err)
	}
	st, err := df.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	// Exporting recordings is access to what they showed: audited first,
	// and no audit, no export.
	if err := st.Audit(ctx, store.Event{Type: "evidence.export", Outcome: store.OutcomeInfo, Identity: *identity,
		Target: *target, SessionID: *session, Reason: "bastion evidence export", Detail: map[string]any{
			"viewer": localUser(), "file": *out, "since": *since, "until": *until}}); err != nil {
		return fmt.Errorf("evidence export: the export could not be audited: %w", err)
	}
	tmp := *out + ".partial"
	file, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("evidence export: %w", err)
	}
	defer os.Remove(tmp)
	src, err := newRecordingSource(*df.config)
	if err != nil {
		return err
	}
	defer src.close()
	opts := evidence.Options{Filter: f, LogDir: logDir(dir), RecordingsDir: recordings, Key: key,
		Fetch: func(ctx context.Context, cast string) (string, error) {
			path, _, err := src.open(ctx, cast)
			return path, err
		}}
	if sharedLog(st) {
		if opts.Log, err = snapshotSessionLog(ctx, st, dir, key.Public().(ed25519.PublicKey)); err != nil {
			return fmt.Errorf("evidence export: the session log does not verify, so it cannot vouch for a bundle: %w", err)
		}
	}
	if isTerminal(stderr) {
		opts.Progress = func(done, total int64) {
			fmt.Fprintf(stderr, "\rexporting: %s of %s", byteSize(done), byteSize(total))
		}
	}
	rep, err := evidence.Export(ctx, file, st, opts)
	if opts.Progress != nil {
		fmt.Fprintln(stderr)
	}
	if err == nil {
		err = file.Sync()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp, *out) // never replaces an existing file
	}
	if err != nil {
		return fmt.Errorf("evidence export: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s: %d sessions, %d audit events, signed by %s\n", *out, len(rep.Sessions), rep.Audit.Events, rep.KeyFingerprint)
	for _, p := range rep.Problems {
		fmt.Fprintf(stdout, "note: %s\n", inert(p))
	}
	return nil
}

func cmdEvidenceVerify(args []string, stdout io.Writer) error {
	fs := newFlags("evidence verify", "evidence verify [--key SIGNING_KEY.pub] [--json] FILE.tar", stdout)
	keyFile := fs.String("key", "", "the signing public key the bundle must be signed with (default: the one it carries)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() != 1 {
		return usagef("evidence verify: want one bundle")
	}
	var err error
	var pub ed25519.PublicKey
	if *keyFile != "" {
		if pub, err = readEd25519Public(*keyFile); err != nil {
			return err
		}
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := evidence.Verify(f, pub)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSON(stdout, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "bundle created %s, signed by %s\n%d members, %d sessions, %d audit events\n",
			inert(res.Created), inert(res.KeyFingerprint), res.Members, res.Sessions, res.Events)
		for _, p := range res.Problems {
			fmt.Fprintf(stdout, "PROBLEM: %s\n", inert(p))
		}
	}
	if !res.OK() {
		return fmt.Errorf("evidence verify: %d problems", len(res.Problems))
	}
	if !*asJSON {
		fmt.Fprintln(stdout, "verified: every member matches the signed manifest, every recording its signed manifest and the log, the audit events the chain")
		if pub == nil {
			// Anyone can make a bundle that verifies against a key it
			// carries: only the key's identity makes it the bastion's.
			fmt.Fprintf(stdout, "NOTE: checked against the key the bundle carries (%s), not a key you trust: compare that fingerprint with the operators' or pass --key\n",
				inert(res.KeyFingerprint))
		}
	}
	return nil
}

// localUser names who runs the command, for audit events.
func localUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// isTerminal reports whether w is a terminal (progress is shown only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
