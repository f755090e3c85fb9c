package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/bastion-ssh/bastion/config"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "serve --config FILE", stdout)
	file := fs.String("config", "", "config file (YAML); required")
	jsonLogs := fs.Bool("json-logs", false, "write logs as JSON lines")
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	if *file == "" {
		return usagef("serve: --config FILE is required")
	}
	cfg, err := config.Load(*file)
	if err != nil {
		return err
	}
	log := newLogger(stderr, *jsonLogs)
	st, err := newStack(ctx, cfg, log)
	if err != nil {
		return err
	}
	log.Info("bastion listening", "addr", st.ln.Addr().String(), "config", cfg.File)
	return st.run(ctx)
}

func newLogger(w io.Writer, asJSON bool) *slog.Logger {
	// Log lines quote what clients send (logins, commands, paths): masked.
	if asJSON {
		return slog.New(newMaskingHandler(slog.NewJSONHandler(w, nil)))
	}
	return slog.New(newMaskingHandler(slog.NewTextHandler(w, nil)))
}
