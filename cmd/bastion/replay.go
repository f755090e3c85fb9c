package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/bastion-ssh/bastion/replay"
	"github.com/bastion-ssh/bastion/store"
)

func cmdReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("replay", "replay [--speed N] [--idle-limit D] [--at 1m30s] [--cat | --web] SESSION_ID|FILE.cast\n\n"+
		"On a terminal: space pauses, . steps, the arrows seek 5s, q quits; markers and progress are shown.", stdout)
	at := fs.Duration("at", 0, "start at this offset (e.g. 1m30s), the output before it shown at once")
	speed := fs.Float64("speed", 1, "playback speed factor")
	idle := new(time.Duration)
	fs.Var(secondsFlag{idle}, "idle-limit", "compress pauses longer than this: seconds (2) or a duration (500ms)")
	cat := fs.Bool("cat", false, "print the output at once instead of playing it in real time")
	web := fs.Bool("web", false, "play it in a browser: serve it on --listen until interrupted")
	listen := fs.String("listen", "127.0.0.1:0", "with --web: a loopback address to serve on")
	keyFile := fs.String("key", "", "with --web: the signing public key to verify with (default: DATA/signing_key.pub)")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() != 1 {
		return usagef("replay: want one session id or .cast file")
	}
	if *speed <= 0 {
		return usagef("replay: --speed must be positive")
	}
	path, sessionID, err := recordingPath(ctx, df, fs.Arg(0))
	if err != nil {
		return err
	}
	if sessionID != "" {
		// Found through the session store: who watched which session is
		// part of the evidence (access to PHI is logged), and a view that
		// cannot be audited does not happen.
		how := "cat"
		switch {
		case *web:
			how = "web"
		case !*cat:
			how = "play"
		}
		if err := auditRecordingView(ctx, df, sessionID, how); err != nil {
			return fmt.Errorf("replay: the view could not be audited: %w", err)
		}
	}
	src, err := newRecordingSource(*df.config)
	if err != nil {
		return err
	}
	defer src.close()
	local, _, err := src.open(ctx, path)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	rec, err := replay.Open(local)
	if err != nil {
		return err
	}
	if path != fs.Arg(0) {
		markers, err := auditMarkers(ctx, df, fs.Arg(0))
		if err != nil {
			return err
		}
		rec.AddMarkers(markers)
	}
	if *web {
		return serveWebReplay(ctx, stdout, local, *listen, verifyForPage(df, *keyFile, local))
	}
	if *cat {
		return replay.Cat(stdout, rec)
	}
	opts := replay.PlayOptions{Speed: *speed, IdleLimit: *idle}
	switch in, ok := stdinTerminal(); {
	case ok:
		err = playInteractive(ctx, in, stdout, rec, replay.InteractiveOptions{PlayOptions: opts, At: *at, Inert: inert})
	case *at > 0:
		err = replay.Interactive(ctx, stdout, rec, nil, replay.InteractiveOptions{PlayOptions: opts, At: *at, Inert: inert})
	default:
		err = replay.Play(ctx, stdout, rec, opts)
	}
	if err != nil && ctx.Err() != nil {
		return nil // Ctrl-C is how one stops watching, not a failure
	}
	return err
}

// auditRecordingView records that the local user looked at a session.
func auditRecordingView(ctx context.Context, df dataFlags, sessionID, how string) error {
	st, err := df.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	viewer := localUser()
	host, _ := os.Hostname()
	return st.Audit(ctx, store.Event{Type: "recording.view", Outcome: store.OutcomeInfo, SessionID: sessionID,
		Reason: "bastion replay (" + how + ")", Detail: map[string]any{"viewer": viewer, "host": host}})
}

// recordingPath resolves a .cast file, or a session id or unique id
// prefix (via the store) to its recording and full session id.
func recordingPath(ctx context.Context, df dataFlags, arg string) (path, sessionID string, err error) {
	if strings.HasSuffix(arg, ".cast") {
		if _, err := os.Stat(arg); err == nil {
			return arg, "", nil
		}
	}
	st, err := df.openStore()
	if err != nil {
		return "", "", err
	}
	defer st.Close()
	s, err := st.SessionByPrefix(ctx, arg)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", errors.New("no session " + arg + " (bastion sessions list shows them)")
	}
	if err != nil {
		return "", "", err
	}
	return s.Recording, s.ID, nil
}
