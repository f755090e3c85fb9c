package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Approval is a held command and what was decided about it. The rules of
// who may decide live in package approvals; the store keeps the record
// and applies each change atomically.
type Approval struct {
	ID            string             `json:"id"`
	Requester     string             `json:"requester"`
	SourceAddr    string             `json:"source_addr,omitempty"`
	Target        string             `json:"target"`
	Login         string             `json:"login"`
	SessionID     string             `json:"session_id,omitempty"`
	Command       string             `json:"command"` // masked
	CommandKey    string             `json:"-"`       // keyed fingerprint of the exact command
	Justification string             `json:"justification,omitempty"`
	Rule          string             `json:"rule"`
	Reviewers     []string           `json:"reviewers"`
	Needed        int                `json:"approvals_needed"`
	CreatedAt     time.Time          `json:"created_at"`
	Deadline      time.Time          `json:"deadline"`
	State         string             `json:"state"`
	ClosedAt      *time.Time         `json:"closed_at,omitempty"`
	UsedAt        *time.Time         `json:"used_at,omitempty"`
	Decisions     []ApprovalDecision `json:"decisions"`
}

// ApprovalDecision is one reviewer's answer.
type ApprovalDecision struct {
	Reviewer string    `json:"reviewer"`
	Channel  string    `json:"channel"` // cli, slack
	Approve  bool      `json:"approve"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
}

// ApprovalFilter narrows Approvals; zero fields match everything.
type ApprovalFilter struct {
	State     string
	Requester string
	Limit     int // zero means 1000
}

// CreateApproval inserts a new approval request.
func (s *Store) CreateApproval(ctx context.Context, a Approval) error {
	reviewers, err := json.Marshal(a.Reviewers)
	if err != nil {
		return fmt.Errorf("store: approval: %w", err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO approvals
		(id, requester, source_addr, target, login, session_id, command, command_key, justification,
		 rule, reviewers, needed, created_at, deadline, state)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Requester, a.SourceAddr, a.Target, a.Login, a.SessionID, a.Command, a.CommandKey,
		a.Justification, a.Rule, string(reviewers), a.Needed,
		a.CreatedAt.UTC().Format(timeFormat), a.Deadline.UTC().Format(timeFormat), a.State)
	if err != nil {
		return fmt.Errorf("store: create approval: %w", err)
	}
	return nil
}

// Approval returns one approval with its decisions, or ErrNotFound.
func (s *Store) Approval(ctx context.Context, id string) (Approval, error) {
	return getApproval(ctx, s.db, s.db.d.decisionOrder, id)
}

// Approvals lists approvals, newest first, without their decisions.
func (s *Store) Approvals(ctx context.Context, f ApprovalFilter) ([]Approval, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+approvalColumns+` FROM approvals
		WHERE (? = '' OR state = ?) AND (? = '' OR requester = ?)
		ORDER BY created_at DESC, id LIMIT ?`, f.State, f.State, f.Requester, f.Requester, limit)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Approval
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// UpdateApproval changes one approval atomically: fn sees the current
// record (decisions included) under the database's write lock, may change
// State, ClosedAt and UsedAt, and may return a decision to append. If fn
// returns an error nothing is written. Concurrent deciders are serialised,
// so two reviewers can never both take the last approval.
func (s *Store) UpdateApproval(ctx context.Context, id string, fn func(a *Approval) (*ApprovalDecision, error)) (Approval, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Approval{}, fmt.Errorf("store: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	// A write first takes SQLite's write lock before the read.
	res, err := tx.ExecContext(ctx, `UPDATE approvals SET id = id WHERE id = ?`, id)
	if err != nil {
		return Approval{}, fmt.Errorf("store: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Approval{}, ErrNotFound
	}
	a, err := getApproval(ctx, tx, s.db.d.decisionOrder, id)
	if err != nil {
		return Approval{}, err
	}
	d, err := fn(&a)
	if err != nil {
		return a, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE approvals SET state = ?, closed_at = ?, used_at = ? WHERE id = ?`,
		a.State, optTime(a.ClosedAt), optTime(a.UsedAt), id); err != nil {
		return Approval{}, fmt.Errorf("store: %w", err)
	}
	if d != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO approval_decisions (approval_id, reviewer, channel, approve, reason, at)
			VALUES (?, ?, ?, ?, ?, ?)`, id, d.Reviewer, d.Channel, d.Approve, d.Reason, d.At.UTC().Format(timeFormat)); err != nil {
			return Approval{}, fmt.Errorf("store: %w", err)
		}
		a.Decisions = append(a.Decisions, *d)
	}
	if err := tx.notify(ctx, ChangeApproval, id); err != nil {
		return Approval{}, fmt.Errorf("store: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Approval{}, fmt.Errorf("store: %w", err)
	}
	return a, nil
}

const approvalColumns = `id, requester, source_addr, target, login, session_id, command, command_key,
	justification, rule, reviewers, needed, created_at, deadline, state, closed_at, used_at`

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func getApproval(ctx context.Context, q querier, order, id string) (Approval, error) {
	a, err := scanApproval(q.QueryRowContext(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Approval{}, ErrNotFound
	}
	if err != nil {
		return Approval{}, err
	}
	rows, err := q.QueryContext(ctx, `SELECT reviewer, channel, approve, reason, at FROM approval_decisions
		WHERE approval_id = ? ORDER BY `+order, id)
	if err != nil {
		return Approval{}, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d ApprovalDecision
		var at string
		if err := rows.Scan(&d.Reviewer, &d.Channel, &d.Approve, &d.Reason, &at); err != nil {
			return Approval{}, fmt.Errorf("store: %w", err)
		}
		d.At, _ = time.Parse(timeFormat, at)
		a.Decisions = append(a.Decisions, d)
	}
	return a, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanApproval(r scanner) (Approval, error) {
	var a Approval
	var reviewers, created, deadline string
	var closed, used sql.NullString
	err := r.Scan(&a.ID, &a.Requester, &a.SourceAddr, &a.Target, &a.Login, &a.SessionID, &a.Command,
		&a.CommandKey, &a.Justification, &a.Rule, &reviewers, &a.Needed, &created, &deadline, &a.State,
		&closed, &used)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return a, err
		}
		return a, fmt.Errorf("store: %w", err)
	}
	if err := json.Unmarshal([]byte(reviewers), &a.Reviewers); err != nil {
		return a, fmt.Errorf("store: approval %s reviewers: %w", a.ID, err)
	}
	a.CreatedAt, _ = time.Parse(timeFormat, created)
	a.Deadline, _ = time.Parse(timeFormat, deadline)
	a.ClosedAt, a.UsedAt = parseOptTime(closed), parseOptTime(used)
	return a, nil
}

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(timeFormat)
}

func parseOptTime(s sql.NullString) *time.Time {
	if !s.Valid {
		return nil
	}
	t, err := time.Parse(timeFormat, s.String)
	if err != nil {
		return nil
	}
	return &t
}
