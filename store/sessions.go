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
	// Node is the bastion that ran the session (config node); empty on
	// sessions from before nodes were named.
	Node string `json:"node,omitempty"`
	// Status is StatusRunning, StatusEnded or StatusIncomplete, from the
	// row (not stored as such).
	Status string `json:"status"`
	// EndedBy is the node that ended the session as incomplete because its
	// own node died (nodes.go); empty otherwise.
	EndedBy string `json:"ended_by,omitempty"`
}

// Session statuses.
const (
	StatusRunning = "running"
	StatusEnded   = "ended"
	// StatusIncomplete: the session's node died while it ran (it stopped
	// heartbeating, or started again and found it still open); another
	// node, or its own next life, ended the row. Its recording has no
	// manifest and verifies up to its last checkpoint.
	StatusIncomplete = "incomplete"
)

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
		(id, conn_id, identity, source_addr, target, login, kind, command, started_at, recording, node)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		x.ID, x.ConnID, x.Identity, x.SourceAddr, x.Target, x.Login, x.Kind, x.Command,
		x.StartedAt.UTC().Format(timeFormat), s.storedRecording(x.Recording), x.Node)
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// EndSession records how a session ended. It also overrides an
// incomplete mark: a node taken for dead that was only cut off ends its
// sessions truthfully when it is back.
func (s *Store) EndSession(ctx context.Context, id string, e SessionEnd) error {
	var exit sql.NullInt64
	if e.ExitStatus != nil {
		exit = sql.NullInt64{Int64: int64(*e.ExitStatus), Valid: true}
	}
	res, err := s.db.ExecContext(ctx, `UPDATE sessions SET ended_at = ?, exit_status = ?,
		exit_signal = ?, end_reason = ?, recording_size = ?, ended_by = '' WHERE id = ?`,
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
	deleted_at, deleted_reason, node, ended_by`

// Session returns one session by id.
func (s *Store) Session(ctx context.Context, id string) (Session, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id)
	if err != nil {
		return Session{}, fmt.Errorf("store: %w", err)
	}
	var found []Session
	if err := s.scanSessions(rows, func(x Session) error { found = append(found, x); return nil }); err != nil {
		return Session{}, err
	}
	if len(found) == 0 {
		return Session{}, fmt.Errorf("store: session %s: %w", id, ErrNotFound)
	}
	return found[0], nil
}

// SessionFilter narrows ListSessions; zero fields match everything.
type SessionFilter struct {
	ID       string
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
	var out []Session
	err := s.EachSession(ctx, f, func(x Session) error {
		if out = append(out, x); len(out) == limit {
			return errStop
		}
		return nil
	})
	return out, err
}

// errStop ends an iteration early without error.
var errStop = errors.New("stop")

// EachSession calls fn with each session f matches, newest first, without
// holding them all (evidence export, retention). Limit is ignored. An
// error from fn ends the iteration and is returned.
func (s *Store) EachSession(ctx context.Context, f SessionFilter, fn func(Session) error) error {
	since, until := "", ""
	if !f.Since.IsZero() {
		since = secondPrefix(f.Since)
	}
	if !f.Until.IsZero() {
		until = secondPrefix(f.Until)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE (? = '' OR identity = ?) AND (? = '' OR target = ?) AND (? = '' OR id = ?)
		AND (? = '' OR substr(started_at, 1, 19) >= ?) AND (? = '' OR substr(started_at, 1, 19) <= ?)
		ORDER BY started_at DESC, id DESC`,
		f.Identity, f.Identity, f.Target, f.Target, f.ID, f.ID, since, since, until, until)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	err = s.scanSessions(rows, func(x Session) error {
		if (!f.Since.IsZero() && x.StartedAt.Before(f.Since)) || (!f.Until.IsZero() && x.StartedAt.After(f.Until)) {
			return nil
		}
		return fn(x)
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// scanSessions calls fn with each row until it returns an error.
func (s *Store) scanSessions(rows *sql.Rows, fn func(Session) error) error {
	defer rows.Close()
	for rows.Next() {
		var x Session
		var started string
		var ended sql.NullString
		var exit sql.NullInt64
		var deleted sql.NullString
		if err := rows.Scan(&x.ID, &x.ConnID, &x.Identity, &x.SourceAddr, &x.Target, &x.Login,
			&x.Kind, &x.Command, &started, &ended, &exit, &x.ExitSignal, &x.EndReason,
			&x.Recording, &x.RecordingSize, &deleted, &x.DeletedReason, &x.Node, &x.EndedBy); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		x.Recording = s.RecordingPath(x.Recording)
		if deleted.Valid {
			t, _ := time.Parse(timeFormat, deleted.String)
			x.DeletedAt = &t
		}
		x.StartedAt, _ = time.Parse(timeFormat, started)
		x.Status = StatusRunning
		if ended.Valid {
			t, _ := time.Parse(timeFormat, ended.String)
			x.EndedAt = &t
			x.Status = StatusEnded
			if x.EndedBy != "" {
				x.Status = StatusIncomplete
			}
		}
		if exit.Valid {
			v := int(exit.Int64)
			x.ExitStatus = &v
		}
		if err := fn(x); err != nil {
			return err
		}
	}
	return rows.Err()
}

// MarkDeleted records that retention deleted a session's recording. The
// row stays, so that verify can tell a deleted recording from a missing
// one; a row marked already is left as it is.
func (s *Store) MarkDeleted(ctx context.Context, id string, at time.Time, reason string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE sessions SET deleted_at = ?, deleted_reason = ? WHERE id = ? AND deleted_at IS NULL`,
		at.UTC().Format(timeFormat), reason, id)
	if err != nil {
		return fmt.Errorf("store: mark deleted: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: mark deleted %s: %w", id, ErrNotFound)
	}
	return nil
}
