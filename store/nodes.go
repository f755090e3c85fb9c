package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Node liveness. Each running bastion keeps a row in nodes and moves its
// beat forward every few seconds; a node whose beat stopped is dead, and
// the sessions it left running are ended as incomplete by a node that is
// alive (or by the dead node itself when it starts again). The package
// liveness decides when; this file keeps the rows.
//
// Beats are written and judged on the database's clock (dialect
// nowMillis), never a node's own, so that a node whose clock is off is not
// taken for dead, and one node's view agrees with another's.
//
// A row is (name, instance, beat): instance is a random value a process
// chooses when it claims the name, so that a second process claiming the
// same name is seen. Every mark is conditional on the dead node's row
// still being the one judged stale, and on the session being still open,
// in one UPDATE: two nodes racing to mark one session mark it once, and a
// node that beats again between the judgment and the mark keeps its
// sessions.

// ErrNodeTaken is returned by Beat when the node's row names another
// process: another bastion claimed this node's name.
var ErrNodeTaken = errors.New("store: another process has claimed this node's name")

// NodeRow is one node's liveness row.
type NodeRow struct {
	Name     string
	Instance string // chosen by the process that claimed the name
	Host     string // its host name
	PID      int    // its process id on Host
	Started  time.Time
	Beat     time.Time // its last beat, on the database's clock
	// Age is how long ago Beat was, on the database's clock, when the row
	// was read.
	Age time.Duration
	// beatMillis is Beat as stored, for conditional writes.
	beatMillis int64
}

// Released reports whether the node stopped cleanly and released its
// name (ReleaseNode); Beat then means nothing.
func (r NodeRow) Released() bool { return r.beatMillis == 0 }

// ClaimNode makes row.Name's row this process's (row.Instance, Host, PID),
// beating now. A node claims its name once at start, after making sure no
// live process holds it (liveness.Claim).
func (s *Store) ClaimNode(ctx context.Context, row NodeRow) error {
	now := s.db.d.nowMillis
	_, err := s.db.ExecContext(ctx, `INSERT INTO nodes (name, instance, host, pid, started_ms, beat_ms)
		VALUES (?, ?, ?, ?, `+now+`, `+now+`)
		ON CONFLICT (name) DO UPDATE SET instance = excluded.instance, host = excluded.host, pid = excluded.pid,
		started_ms = excluded.started_ms, beat_ms = excluded.beat_ms`,
		row.Name, row.Instance, row.Host, row.PID)
	if err != nil {
		return fmt.Errorf("store: claim node %s: %w", row.Name, err)
	}
	return nil
}

// Beat moves the node's beat to now, if the row is still instance's;
// ErrNodeTaken if another process has claimed the name since.
func (s *Store) Beat(ctx context.Context, name, instance string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE nodes SET beat_ms = `+s.db.d.nowMillis+` WHERE name = ? AND instance = ?`,
		name, instance)
	if err != nil {
		return fmt.Errorf("store: node heartbeat: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: node heartbeat: %w", err)
	} else if n == 0 {
		return fmt.Errorf("store: node %s: %w", name, ErrNodeTaken)
	}
	return nil
}

// ReleaseNode marks the node stopped, if the row is still instance's: its
// beat is set to the epoch, so that it is stale at once. A node releases
// its name when it has stopped serving.
func (s *Store) ReleaseNode(ctx context.Context, name, instance string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE nodes SET beat_ms = 0 WHERE name = ? AND instance = ?`, name, instance); err != nil {
		return fmt.Errorf("store: release node %s: %w", name, err)
	}
	return nil
}

const nodeColumns = `name, instance, host, pid, started_ms, beat_ms`

// Node returns a node's row; ErrNotFound if it never claimed its name.
func (s *Store) Node(ctx context.Context, name string) (NodeRow, error) {
	rows, err := s.nodes(ctx, `WHERE name = ?`, name)
	if err != nil {
		return NodeRow{}, err
	}
	if len(rows) == 0 {
		return NodeRow{}, fmt.Errorf("store: node %s: %w", name, ErrNotFound)
	}
	return rows[0], nil
}

// Nodes returns every node's row, by name.
func (s *Store) Nodes(ctx context.Context) ([]NodeRow, error) { return s.nodes(ctx, ``) }

// StaleNodes returns the nodes other than except whose last beat is more
// than bound ago on the database's clock, and that still have sessions
// running.
func (s *Store) StaleNodes(ctx context.Context, bound time.Duration, except string) ([]NodeRow, error) {
	return s.nodes(ctx, `WHERE name != ? AND beat_ms < `+s.db.d.nowMillis+` - ?
		AND EXISTS (SELECT 1 FROM sessions WHERE sessions.node = nodes.name AND sessions.ended_at IS NULL)`,
		except, bound.Milliseconds())
}

func (s *Store) nodes(ctx context.Context, where string, args ...any) ([]NodeRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+nodeColumns+`, `+s.db.d.nowMillis+` FROM nodes `+where+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: nodes: %w", err)
	}
	defer rows.Close()
	var out []NodeRow
	for rows.Next() {
		var r NodeRow
		var started, now int64
		if err := rows.Scan(&r.Name, &r.Instance, &r.Host, &r.PID, &started, &r.beatMillis, &now); err != nil {
			return nil, fmt.Errorf("store: nodes: %w", err)
		}
		r.Started, r.Beat = time.UnixMilli(started).UTC(), time.UnixMilli(r.beatMillis).UTC()
		r.Age = time.Duration(now-r.beatMillis) * time.Millisecond
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: nodes: %w", err)
	}
	return out, nil
}

// RunningSessions returns the sessions node has not ended, oldest first.
func (s *Store) RunningSessions(ctx context.Context, node string) ([]Session, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE node = ? AND ended_at IS NULL ORDER BY started_at, id`, node)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var out []Session
	err = s.scanSessions(rows, func(x Session) error { out = append(out, x); return nil })
	return out, err
}

// IncompleteMark is how a session of a dead node is ended.
type IncompleteMark struct {
	At     time.Time
	By     string  // the node marking it
	Reason string  // the row's end_reason, for people
	Dead   NodeRow // the dead node's row as judged (Node or StaleNodes)
}

// MarkIncomplete ends session id as incomplete, if it is still open, runs
// on m.Dead's node, and that node's row is still the one judged dead (same
// instance, same beat), and appends e, the mark's audit event, in the same
// transaction: no reader ever sees the mark without its event, and an event
// that cannot be written leaves the session as it was. It reports whether
// it marked the session: false means another node did first, the session
// ended, or the node beat again, and nothing was written.
func (s *Store) MarkIncomplete(ctx context.Context, id string, m IncompleteMark, e Event) (bool, error) {
	fail := func(err error) (bool, error) {
		return false, fmt.Errorf("store: mark session %s incomplete: %w", id, err)
	}
	if e.At.IsZero() {
		e.At = m.At
	}
	detail := []byte("{}")
	if len(e.Detail) > 0 {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil {
			return fail(fmt.Errorf("audit detail: %w", err))
		}
	}
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	// The chain's lock first, as in every audit append, so the mark never
	// holds the session's row while it waits for the chain.
	if err := tx.lock(ctx, s.db.d.lockChain); err != nil {
		return fail(err)
	}
	res, err := tx.ExecContext(ctx, `UPDATE sessions SET ended_at = ?, end_reason = ?, ended_by = ?
		WHERE id = ? AND ended_at IS NULL AND node = ?
		AND EXISTS (SELECT 1 FROM nodes WHERE name = ? AND instance = ? AND beat_ms = ?)`,
		m.At.UTC().Format(timeFormat), m.Reason, m.By, id, m.Dead.Name, m.Dead.Name, m.Dead.Instance, m.Dead.beatMillis)
	if err != nil {
		return fail(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fail(err)
	} else if n != 1 {
		return false, nil
	}
	if err := s.appendEventTx(ctx, tx, e, string(detail), false); err != nil {
		return fail(fmt.Errorf("audit: %w", err))
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return true, nil
}
