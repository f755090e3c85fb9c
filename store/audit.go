package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
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
}

// Audit appends an event. Callers treat an error as fatal for the action
// being audited: what cannot be recorded does not happen.
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
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit_events
		(at, type, outcome, session_id, conn_id, identity, source_addr, target, login, reason, detail, rec_event, rec_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.At.UTC().Format(timeFormat), e.Type, e.Outcome, e.SessionID, e.ConnID, e.Identity,
		e.SourceAddr, e.Target, e.Login, e.Reason, string(detail), e.RecEvent, e.RecTime)
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// EventFilter narrows Events; zero fields match everything.
type EventFilter struct {
	SessionID string
	ConnID    string
	Type      string
	AfterSeq  int64
	Limit     int // zero means 10000
}

// Events returns audit events in the order they were written.
func (s *Store) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 10000
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, at, type, outcome, session_id, conn_id, identity,
		source_addr, target, login, reason, detail, rec_event, rec_time FROM audit_events
		WHERE (? = '' OR session_id = ?) AND (? = '' OR conn_id = ?) AND (? = '' OR type = ?) AND seq > ?
		ORDER BY seq LIMIT ?`,
		f.SessionID, f.SessionID, f.ConnID, f.ConnID, f.Type, f.Type, f.AfterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at, detail string
		var recEvent sql.NullInt64
		var recTime sql.NullFloat64
		if err := rows.Scan(&e.Seq, &at, &e.Type, &e.Outcome, &e.SessionID, &e.ConnID, &e.Identity,
			&e.SourceAddr, &e.Target, &e.Login, &e.Reason, &detail, &recEvent, &recTime); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		e.At, _ = time.Parse(timeFormat, at)
		if detail != "{}" {
			_ = json.Unmarshal([]byte(detail), &e.Detail)
		}
		if recEvent.Valid {
			e.RecEvent = &recEvent.Int64
		}
		if recTime.Valid {
			e.RecTime = &recTime.Float64
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
