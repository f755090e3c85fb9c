package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Outcomes of an audited decision.
const (
	OutcomeAllowed = "allowed"
	OutcomeDenied  = "denied"
	OutcomeError   = "error"
	OutcomeInfo    = "info"
)

// Event is one audit record. Audit events are evidence, not log lines:
// every decision the bastion takes writes one.
type Event struct {
	Seq        int64          `json:"seq"`
	At         time.Time      `json:"at"`
	Type       string         `json:"type"` // e.g. auth.reject, session.start, sftp.open
	Outcome    string         `json:"outcome"`
	SessionID  string         `json:"session_id,omitempty"`
	ConnID     string         `json:"conn_id,omitempty"`
	Identity   string         `json:"identity,omitempty"`
	SourceAddr string         `json:"source_addr,omitempty"`
	Target     string         `json:"target,omitempty"`
	Login      string         `json:"login,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Detail     map[string]any `json:"detail,omitempty"`
	// Position in the session recording, when the event refers to output.
	RecEvent *int64   `json:"rec_event,omitempty"`
	RecTime  *float64 `json:"rec_time,omitempty"`
	// The audit chain (chain.go), set by the store: the previous event's
	// hash and this one's. Empty on events from before the chain began.
	PrevHash string `json:"prev_hash,omitempty"`
	Hash     string `json:"hash,omitempty"`
}

// Audit appends an event to the audit chain (chain.go). Callers treat an
// error as fatal for the action being audited: what cannot be recorded
// does not happen.
func (s *Store) Audit(ctx context.Context, e Event) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	detail := []byte("{}")
	if len(e.Detail) > 0 {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil {
			return fmt.Errorf("store: audit detail: %w", err)
		}
	}
	if err := s.appendEvent(ctx, e, string(detail), false); err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// EventFilter narrows Events; zero fields match everything.
type EventFilter struct {
	SessionID  string
	ConnID     string
	Type       string // exact type
	TypePrefix string // "sftp" matches sftp.open and sftp; "sftp." only the former
	Identity   string
	Since      time.Time // at or after
	Until      time.Time // at or before
	AfterSeq   int64
	// Newest returns the newest Limit events (still oldest first) instead
	// of the oldest.
	Newest bool
	Limit  int // zero means 10000
}

// secondPrefix is the fixed-width part of a stored time: stored times are
// RFC 3339 in UTC with trimmed fractions, which sort chronologically only
// to the second, so SQL narrows to the second and Go decides the rest.
func secondPrefix(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

// Events returns audit events in the order they were written.
func (s *Store) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 10000
	}
	since, until := "", ""
	if !f.Since.IsZero() {
		since = secondPrefix(f.Since)
	}
	if !f.Until.IsZero() {
		until = secondPrefix(f.Until)
	}
	// "sftp" matches "sftp" and "sftp.*", not "sftpx"; "sftp." only "sftp.*".
	prefix, exact, dotted := f.TypePrefix, f.TypePrefix, f.TypePrefix+"."
	if strings.HasSuffix(prefix, ".") {
		exact, dotted = "", prefix
	}
	order := "ASC"
	if f.Newest {
		order = "DESC"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+eventColumns+` FROM audit_events
		WHERE (? = '' OR session_id = ?) AND (? = '' OR conn_id = ?) AND (? = '' OR type = ?)
		AND (? = '' OR identity = ?)
		AND (? = '' OR type = ? OR substr(type, 1, length(?)) = ?)
		AND (? = '' OR substr(at, 1, 19) >= ?) AND (? = '' OR substr(at, 1, 19) <= ?)
		AND seq > ? ORDER BY seq `+order,
		f.SessionID, f.SessionID, f.ConnID, f.ConnID, f.Type, f.Type, f.Identity, f.Identity,
		prefix, exact, dotted, dotted,
		since, since, until, until, f.AfterSeq)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() && len(out) < limit {
		se, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		if (!f.Since.IsZero() && se.At.Before(f.Since)) || (!f.Until.IsZero() && se.At.After(f.Until)) {
			continue
		}
		out = append(out, se.Event)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if f.Newest {
		slices.Reverse(out)
	}
	return out, nil
}

const eventColumns = `seq, at, type, outcome, session_id, conn_id, identity, source_addr, target, login,
	reason, detail, rec_event, rec_time, prev_hash, hash`

// scanEvent reads one row of eventColumns.
func scanEvent(rows *sql.Rows) (storedEvent, error) {
	var se storedEvent
	e := &se.Event
	if err := rows.Scan(&e.Seq, &se.at, &e.Type, &e.Outcome, &e.SessionID, &e.ConnID, &e.Identity,
		&e.SourceAddr, &e.Target, &e.Login, &e.Reason, &se.detail, &se.recEvent, &se.recTime,
		&se.prevHash, &se.hash); err != nil {
		return se, fmt.Errorf("store: %w", err)
	}
	e.At, _ = time.Parse(timeFormat, se.at)
	if se.detail != "{}" {
		_ = json.Unmarshal([]byte(se.detail), &e.Detail)
	}
	if se.recEvent.Valid {
		v := se.recEvent.Int64
		e.RecEvent = &v
	}
	if se.recTime.Valid {
		v := se.recTime.Float64
		e.RecTime = &v
	}
	e.PrevHash, e.Hash = se.prevHash, se.hash
	return se, nil
}
