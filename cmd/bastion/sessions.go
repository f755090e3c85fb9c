package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/bastion-ssh/bastion/store"
)

func cmdSessions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintln(stdout, "usage: bastion sessions list [--json] [--identity ID] [--target NAME]\n       bastion sessions show [--json] ID")
		if len(args) == 0 {
			return usagef("sessions: missing subcommand")
		}
		return nil
	}
	switch args[0] {
	case "list":
		return cmdSessionsList(ctx, args[1:], stdout)
	case "show":
		return cmdSessionsShow(ctx, args[1:], stdout)
	}
	return usagef("sessions: unknown subcommand %q", args[0])
}

func cmdSessionsList(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("sessions list", "sessions list [flags]", stdout)
	asJSON := fs.Bool("json", false, "print JSON")
	identity := fs.String("identity", "", "only this identity")
	target := fs.String("target", "", "only this target")
	limit := fs.Int("limit", 100, "at most this many sessions, newest first")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	st, err := df.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.ListSessions(ctx, store.SessionFilter{Identity: *identity, Target: *target, Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		if list == nil {
			list = []store.Session{}
		}
		return writeJSON(stdout, list)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tIDENTITY\tLOGIN@TARGET\tKIND\tEXIT\tCOMMAND")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s@%s\t%s\t%s\t%s\n", s.ID, s.StartedAt.Local().Format(timeWithZone),
			s.Identity, s.Login, s.Target, s.Kind, exitText(s), truncate(s.Command, 40))
	}
	return tw.Flush()
}

func cmdSessionsShow(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("sessions show", "sessions show [flags] ID", stdout)
	asJSON := fs.Bool("json", false, "print JSON")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() != 1 {
		return usagef("sessions show: want one session id")
	}
	st, err := df.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := st.SessionByPrefix(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	events, err := st.Events(ctx, store.EventFilter{SessionID: s.ID})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, map[string]any{"session": s, "events": events})
	}
	fmt.Fprintf(stdout, "session    %s\nidentity   %s\nsource     %s\ntarget     %s@%s\nkind       %s\ncommand    %s\nstarted    %s\n",
		s.ID, s.Identity, s.SourceAddr, s.Login, s.Target, s.Kind, s.Command, s.StartedAt.Local().Format(time.RFC3339))
	if s.EndedAt != nil {
		fmt.Fprintf(stdout, "ended      %s\n", s.EndedAt.Local().Format(time.RFC3339))
	}
	fmt.Fprintf(stdout, "exit       %s\nrecording  %s (%d bytes)\n\naudit events:\n", exitText(s), s.Recording, s.RecordingSize)
	for _, e := range events {
		fmt.Fprintf(stdout, "  %s  %-22s %-8s %s\n", e.At.Local().Format(time.TimeOnly+" MST"), e.Type, e.Outcome, e.Reason)
	}
	return nil
}

// timeWithZone is how the CLI shows a time: local, with its zone.
const timeWithZone = time.DateTime + " MST"

func exitText(s store.Session) string {
	switch {
	case s.ExitSignal != "":
		return "signal " + s.ExitSignal
	case s.ExitStatus != nil:
		return fmt.Sprint(*s.ExitStatus)
	case s.EndedAt == nil:
		return "running"
	}
	return "-"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
