package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/bastion-ssh/bastion/replay"
	"github.com/bastion-ssh/bastion/store"
)

// searchMatchesShown bounds the matches listed per session.
const searchMatchesShown = 5

// searchHit is one session that matched.
type searchHit struct {
	Session store.Session  `json:"session"`
	Command bool           `json:"command_matched"`
	Matches []replay.Match `json:"matches"`
	Snips   []string       `json:"snippets"`
}

// cmdSessionsSearch finds sessions whose command line or recorded (masked)
// output contains TEXT.
func cmdSessionsSearch(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("sessions search", "sessions search [flags] TEXT", stdout)
	identity := fs.String("identity", "", "only this identity")
	target := fs.String("target", "", "only this target")
	since := fs.String("since", "", "only sessions started at or after: RFC 3339 time, date or duration ago")
	until := fs.String("until", "", "only sessions started at or before")
	limit := fs.Int("limit", 100, "at most this many matching sessions, newest first")
	asJSON := fs.Bool("json", false, "print JSON")
	raw := fs.Bool("raw", false, "print recorded text as is, control characters included")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return usagef("sessions search: want one search text")
	}
	text := fs.Arg(0)
	f := store.SessionFilter{Identity: *identity, Target: *target}
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
	// Reading recordings is access to what they showed: audited first.
	// The text is not recorded (it could be an identifier someone looked
	// for), only its length.
	if err := st.Audit(ctx, store.Event{Type: "recording.search", Outcome: store.OutcomeInfo, Identity: *identity,
		Target: *target, Reason: "bastion sessions search",
		Detail: map[string]any{"viewer": localUser(), "text_length": len(text)}}); err != nil {
		return fmt.Errorf("sessions search: the search could not be audited: %w", err)
	}
	var hits []searchHit
	err = st.EachSession(ctx, f, func(s store.Session) error {
		h := searchHit{Session: s, Command: strings.Contains(s.Command, text)}
		if s.DeletedAt == nil && s.Recording != "" {
			if rec, err := replay.Open(s.Recording); err == nil {
				h.Matches = replay.Search(rec, text)
				for i, m := range h.Matches {
					if i == searchMatchesShown {
						break
					}
					h.Snips = append(h.Snips, snippet(rec, m, len(text)))
				}
			} else if !os.IsNotExist(err) {
				h.Snips = append(h.Snips, "(recording unreadable: "+err.Error()+")")
			}
		}
		if h.Command || len(h.Matches) > 0 {
			hits = append(hits, h)
			if len(hits) == *limit {
				return errLimit
			}
		}
		return nil
	})
	if err != nil && err != errLimit {
		return err
	}
	if *asJSON {
		if hits == nil {
			hits = []searchHit{}
		}
		return writeJSON(stdout, hits)
	}
	r := display(*raw)
	for _, h := range hits {
		s := h.Session
		fmt.Fprintf(stdout, "%s  %s  %s  %s@%s  %s\n", r.s(s.ID), s.StartedAt.Local().Format(time.DateTime),
			r.s(s.Identity), r.s(s.Login), r.s(s.Target), truncate(r.s(s.Command), 60))
		if h.Command {
			fmt.Fprintln(stdout, "    in the command line")
		}
		for i, m := range h.Matches {
			if i == searchMatchesShown {
				fmt.Fprintf(stdout, "    ... %d more\n", len(h.Matches)-i)
				break
			}
			fmt.Fprintf(stdout, "    at %s  %s\n", formatOffset(m.Time), r.s(h.Snips[i]))
		}
	}
	fmt.Fprintf(stdout, "%d sessions matched\n", len(hits))
	return nil
}

// errLimit ends a search that found enough.
var errLimit = fmt.Errorf("limit reached")

// snippet is the text around a match, from its output event.
func snippet(rec *replay.Recording, m replay.Match, n int) string {
	data := rec.Events[m.Event].Data
	from, to := max(m.Offset-30, 0), min(m.Offset+n+30, len(data))
	return strings.ToValidUTF8(data[from:to], "")
}

// formatOffset formats seconds since the start as 1m30.5s, which --at accepts.
func formatOffset(sec float64) string {
	return (time.Duration(sec*10) * 100 * time.Millisecond).String()
}
