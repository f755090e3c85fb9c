package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/bastion-ssh/bastion/store"
)

func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit", "audit [--json] [--session ID] [--type TYPE]", stdout)
	asJSON := fs.Bool("json", false, "print JSON")
	session := fs.String("session", "", "only events of this session")
	typ := fs.String("type", "", "only events of this type, e.g. session.denied")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	st, err := df.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	events, err := st.Events(ctx, store.EventFilter{SessionID: *session, Type: *typ})
	if err != nil {
		return err
	}
	if *asJSON {
		if events == nil {
			events = []store.Event{}
		}
		return writeJSON(stdout, events)
	}
	for _, e := range events {
		fmt.Fprintf(stdout, "%s %-24s %-8s %-20s %-16s %s\n", e.At.Local().Format(time.DateTime), e.Type, e.Outcome,
			e.Identity, e.SessionID, e.Reason)
	}
	return nil
}
