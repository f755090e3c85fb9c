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
	ID            string     `json:"id"`
	ConnID        string     `json:"conn_id"`
	Identity      string     `json:"identity"`
	SourceAddr    string     `json:"source_addr"`
	Target        string     `json:"target"`
	Login         string     `json:"login"`
	Kind          string     `json:"kind"` // shell, exec, sftp, subsystem
	Command       string     `json:"command,omitempty"`
	StartedAt     time.Time  `json:"started_at"`
	EndedAt       *time.Time `json:"ended_at,omitempty"`
	ExitStatus    *int       `json:"exit_status,omitempty"`
	ExitSignal    string     `json:"exit_signal,omitempty"`
	EndReason     string     `json:"end_reason,omitempty"`
	Recording     string     `json:"recording"`
	RecordingSize int64      `json:"recording_size"`
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
		x.StartedAt.UTC().Format(timeFormat), x.Recording)
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
	started_at, ended_at, exit_status, exit_signal, end_reason, recording, recording_size`

// Session returns one session by id.
func (s *Store) Session(ctx context.Context, id string) (Session, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id)
	if err != nil {
		return Session{}, fmt.Errorf("store: %w", err)
	}
	list, err := scanSessions(rows)
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
	Limit    int // zero means 1000
}

// ListSessions returns sessions, newest first.
func (s *Store) ListSessions(ctx context.Context, f SessionFilter) ([]Session, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE (? = '' OR identity = ?) AND (? = '' OR target = ?)
		ORDER BY started_at DESC, id DESC LIMIT ?`,
		f.Identity, f.Identity, f.Target, f.Target, limit)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return scanSessions(rows)
}

func scanSessions(rows *sql.Rows) ([]Session, error) {
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var x Session
		var started string
		var ended sql.NullString
		var exit sql.NullInt64
		if err := rows.Scan(&x.ID, &x.ConnID, &x.Identity, &x.SourceAddr, &x.Target, &x.Login,
			&x.Kind, &x.Command, &started, &ended, &exit, &x.ExitSignal, &x.EndReason,
			&x.Recording, &x.RecordingSize); err != nil {
			return nil, fmt.Errorf("store: %w", err)
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
		out = append(out, x)
	}
	return out, rows.Err()
}
