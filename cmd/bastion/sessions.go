package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/bastion-ssh/bastion/store"
)

func cmdSessions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintln(stdout, "usage: bastion sessions list [--json] [--identity ID] [--target NAME]\n       bastion sessions show [--json] ID\n"+
			"       bastion sessions search [--identity ID] [--target NAME] [--since T] [--until T] TEXT")
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
	case "search":
		return cmdSessionsSearch(ctx, args[1:], stdout)
	}
	return usagef("sessions: unknown subcommand %q", args[0])
}

func cmdSessionsList(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("sessions list", "sessions list [flags]", stdout)
	asJSON := fs.Bool("json", false, "print JSON")
	identity := fs.String("identity", "", "only this identity")
	target := fs.String("target", "", "only this target")
	limit := fs.Int("limit", 100, "at most this many sessions, newest first")
	raw := fs.Bool("raw", false, "print recorded text as is, control characters included")
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
	printSessionTable(stdout, list, display(*raw))
	return nil
}

// printSessionTable prints sessions one per line, recorded text inert
// unless raw.
func printSessionTable(w io.Writer, list []store.Session, raw display) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tNODE\tIDENTITY\tLOGIN@TARGET\tKIND\tSTATUS\tEXIT\tCOMMAND")
	for _, s := range list {
		node := s.Node
		if node == "" {
			node = "-" // from before nodes were named
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s@%s\t%s\t%s\t%s\t%s\n", raw.s(s.ID), s.StartedAt.Local().Format(timeWithZone), raw.s(node),
			raw.s(s.Identity), raw.s(s.Login), raw.s(s.Target), raw.s(s.Kind), s.Status, raw.s(exitText(s)), truncate(raw.s(s.Command), 40))
	}
	tw.Flush()
}

func cmdSessionsShow(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("sessions show", "sessions show [flags] ID", stdout)
	asJSON := fs.Bool("json", false, "print JSON")
	rawFlag := fs.Bool("raw", false, "print recorded text as is, control characters included")
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
	raw := display(*rawFlag)
	fmt.Fprintf(stdout, "session    %s\n", raw.s(s.ID))
	if s.Node != "" {
		fmt.Fprintf(stdout, "node       %s\n", raw.s(s.Node))
	}
	fmt.Fprintf(stdout, "identity   %s\nsource     %s\ntarget     %s@%s\nkind       %s\ncommand    %s\nstarted    %s\n",
		raw.s(s.Identity), raw.s(s.SourceAddr), raw.s(s.Login), raw.s(s.Target), raw.s(s.Kind), raw.s(s.Command),
		s.StartedAt.Local().Format(time.RFC3339))
	fmt.Fprintf(stdout, "status     %s\n", s.Status)
	if s.EndedAt != nil {
		fmt.Fprintf(stdout, "ended      %s\n", s.EndedAt.Local().Format(time.RFC3339))
	}
	if s.Status == store.StatusIncomplete {
		// Ended by another node (or the next start) because its own died.
		fmt.Fprintf(stdout, "           by node %s: %s\n", raw.s(s.EndedBy), raw.s(s.EndReason))
	}
	fmt.Fprintf(stdout, "exit       %s\nrecording  %s (%d bytes)\n", raw.s(exitText(s)), raw.s(s.Recording), s.RecordingSize)
	if s.DeletedAt != nil {
		fmt.Fprintf(stdout, "deleted    %s by retention (%s)\n", s.DeletedAt.Local().Format(time.RFC3339), raw.s(s.DeletedReason))
	}
	fmt.Fprintf(stdout, "\naudit events:\n")
	for _, e := range events {
		fmt.Fprintf(stdout, "  %s  %-22s %-8s %s\n", e.At.Local().Format(time.TimeOnly+" MST"), raw.s(e.Type), raw.s(e.Outcome), raw.s(e.Reason))
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
	case s.Status == store.StatusIncomplete:
		return "none" // its node died: no exit status was ever seen
	}
	return "-"
}

// truncate shortens s to n bytes or fewer, on a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
