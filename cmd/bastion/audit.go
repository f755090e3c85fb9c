package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bastion-ssh/bastion/store"
)

// auditFollowEvery is how often --follow looks for new events.
const auditFollowEvery = 500 * time.Millisecond

func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit", "audit [--json] [--since T] [--until T] [--identity ID] [--session ID] [--type PREFIX] [--limit N] [--follow]", stdout)
	asJSON := fs.Bool("json", false, "print JSON (with --follow: one event per line)")
	raw := fs.Bool("raw", false, "print recorded text as is, control characters included")
	session := fs.String("session", "", "only events of this session")
	typ := fs.String("type", "", "only events of this type or its subtypes: sftp matches sftp.open, sftp.rename, ...")
	identity := fs.String("identity", "", "only events of this identity")
	since := fs.String("since", "", "only events at or after: RFC 3339 time, date (2026-01-31) or duration ago (24h)")
	until := fs.String("until", "", "only events at or before: RFC 3339 time, date or duration ago")
	limit := fs.Int("limit", 1000, "at most this many events: the newest, printed oldest first")
	follow := fs.Bool("follow", false, "keep printing new events until interrupted")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	if *limit <= 0 {
		return usagef("audit: --limit must be positive")
	}
	f := store.EventFilter{SessionID: *session, TypePrefix: *typ, Identity: *identity, Limit: *limit, Newest: true}
	var err error
	if f.Since, err = parseTimeFlag("since", *since, time.Now()); err != nil {
		return err
	}
	if f.Until, err = parseTimeFlag("until", *until, time.Now()); err != nil {
		return err
	}
	st, err := df.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	events, err := st.Events(ctx, f)
	if err != nil {
		return err
	}
	out := auditPrinter{w: stdout, json: *asJSON, raw: display(*raw)}
	if !*follow {
		return out.all(events)
	}
	for {
		if err := out.each(events); err != nil {
			return err
		}
		if n := len(events); n > 0 {
			f.AfterSeq = events[n-1].Seq
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(auditFollowEvery):
		}
		f.Newest = false // from here on, the oldest after the last shown
		if events, err = st.Events(ctx, f); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// auditPrinter prints events as text lines or JSON.
type auditPrinter struct {
	w    io.Writer
	json bool
	raw  display
}

// all prints a finished list: a JSON array, or lines.
func (p auditPrinter) all(events []store.Event) error {
	if p.json {
		if events == nil {
			events = []store.Event{}
		}
		return writeJSON(p.w, events)
	}
	return p.each(events)
}

// each prints events one per line (JSON lines when following).
func (p auditPrinter) each(events []store.Event) error {
	for _, e := range events {
		if p.json {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(p.w, "%s\n", b); err != nil {
				return err
			}
			continue
		}
		if _, err := fmt.Fprintln(p.w, auditLine(e, p.raw)); err != nil {
			return err
		}
	}
	return nil
}

// parseTimeFlag reads a time given as RFC 3339, a date (midnight UTC) or a
// duration before now. Empty means no bound.
func parseTimeFlag(name, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, usagef("--%s: want an RFC 3339 time, a date (2006-01-02) or a duration ago (24h), got %q", name, strings.TrimSpace(v))
}
