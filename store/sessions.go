package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned when a session id is unknown.
var ErrNotFound = errors.New("store: not found")

// Session is one SSH session channel through the bastion.
type Session struct {
	ID         string     `json:"id"`
	ConnID     string     `json:"conn_id"`
	Identity   string     `json:"identity"`
	SourceAddr string     `json:"source_addr"`
	Target     string     `json:"target"`
	Login      string     `json:"login"`
	Kind       string     `json:"kind"` // shell, exec, sftp, subsystem
	Command    string     `json:"command,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	ExitStatus *int       `json:"exit_status,omitempty"`
	ExitSignal string     `json:"exit_signal,omitempty"`
	EndReason  string     `json:"end_reason,omitempty"`
	// Recording is the path of the cast file. The store keeps it relative
	// to the data directory and returns it resolved against the directory
	// it was opened in.
	Recording     string `json:"recording"`
	RecordingSize int64  `json:"recording_size"`
	// DeletedAt is when retention deleted the recording (the row stays).
	DeletedAt     *time.Time `json:"deleted_at,omitempty"`
	DeletedReason string     `json:"deleted_reason,omitempty"`
}

// SessionEnd is what is known when a session ends.
type SessionEnd struct {
	At            time.Time
	ExitStatus    *int
	ExitSignal    string
	Reason        string
	RecordingSize int64
}

const timeFormat = time.RFC3339Nano

// CreateSession inserts a new session row.
func (s *Store) CreateSession(ctx context.Context, x Session) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions
		(id, conn_id, identity, source_addr, target, login, kind, command, started_at, recording)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		x.ID, x.ConnID, x.Identity, x.SourceAddr, x.Target, x.Login, x.Kind, x.Command,
		x.StartedAt.UTC().Format(timeFormat), s.storedRecording(x.Recording))
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// EndSession records how a session ended.
func (s *Store) EndSession(ctx context.Context, id string, e SessionEnd) error {
	var exit sql.NullInt64
	if e.ExitStatus != nil {
		exit = sql.NullInt64{Int64: int64(*e.ExitStatus), Valid: true}
	}
	res, err := s.db.ExecContext(ctx, `UPDATE sessions SET ended_at = ?, exit_status = ?,
		exit_signal = ?, end_reason = ?, recording_size = ? WHERE id = ?`,
		e.At.UTC().Format(timeFormat), exit, e.ExitSignal, e.Reason, e.RecordingSize, id)
	if err != nil {
		return fmt.Errorf("store: end session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: end session %s: %w", id, ErrNotFound)
	}
	return nil
}

const sessionColumns = `id, conn_id, identity, source_addr, target, login, kind, command,
	started_at, ended_at, exit_status, exit_signal, end_reason, recording, recording_size,
	deleted_at, deleted_reason`

// Session returns one session by id.
func (s *Store) Session(ctx context.Context, id string) (Session, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id)
	if err != nil {
		return Session{}, fmt.Errorf("store: %w", err)
	}
	list, err := s.scanSessions(rows, 1, nil)
	if err != nil {
		return Session{}, err
	}
	if len(list) == 0 {
		return Session{}, fmt.Errorf("store: session %s: %w", id, ErrNotFound)
	}
	return list[0], nil
}

// SessionFilter narrows ListSessions; zero fields match everything.
type SessionFilter struct {
	Identity string
	Target   string
	Since    time.Time // started at or after
	Until    time.Time // started at or before
	Limit    int       // zero means 1000
}

// ListSessions returns sessions, newest first.
func (s *Store) ListSessions(ctx context.Context, f SessionFilter) ([]Session, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	since, until := "", ""
	if !f.Since.IsZero() {
		since = secondPrefix(f.Since)
	}
	if !f.Until.IsZero() {
		until = secondPrefix(f.Until)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE (? = '' OR identity = ?) AND (? = '' OR target = ?)
		AND (? = '' OR substr(started_at, 1, 19) >= ?) AND (? = '' OR substr(started_at, 1, 19) <= ?)
		ORDER BY started_at DESC, id DESC`,
		f.Identity, f.Identity, f.Target, f.Target, since, since, until, until)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return s.scanSessions(rows, limit, func(x Session) bool {
		return (f.Since.IsZero() || !x.StartedAt.Before(f.Since)) && (f.Until.IsZero() || !x.StartedAt.After(f.Until))
	})
}

// scanSessions reads up to limit rows that keep (if not nil) accepts.
func (s *Store) scanSessions(rows *sql.Rows, limit int, keep func(Session) bool) ([]Session, error) {
	defer rows.Close()
	var out []Session
	for len(out) < limit && rows.Next() {
		var x Session
		var started string
		var ended sql.NullString
		var exit sql.NullInt64
		var deleted sql.NullString
		if err := rows.Scan(&x.ID, &x.ConnID, &x.Identity, &x.SourceAddr, &x.Target, &x.Login,
			&x.Kind, &x.Command, &started, &ended, &exit, &x.ExitSignal, &x.EndReason,
			&x.Recording, &x.RecordingSize, &deleted, &x.DeletedReason); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		x.Recording = s.RecordingPath(x.Recording)
		if deleted.Valid {
			t, _ := time.Parse(timeFormat, deleted.String)
			x.DeletedAt = &t
		}
		x.StartedAt, _ = time.Parse(timeFormat, started)
		if ended.Valid {
			t, _ := time.Parse(timeFormat, ended.String)
			x.EndedAt = &t
		}
		if exit.Valid {
			v := int(exit.Int64)
			x.ExitStatus = &v
		}
		if keep == nil || keep(x) {
			out = append(out, x)
		}
	}
	return out, rows.Err()
}
