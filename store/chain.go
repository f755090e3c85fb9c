package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The audit chain. Every audit event carries the hash of the one before it:
//
//	digest(e) = SHA-256(JSON array of e's columns, in a fixed order)
//	hash(e)   = hex(SHA-256("bastion.audit.v1\n" || prev_hash || "\n" || hex(digest(e))))
//
// where the array is
//
//	["bastion.audit.v1", seq, at, type, outcome, session_id, conn_id, identity,
//	 source_addr, target, login, reason, detail, rec_event, rec_time]
//
// each value exactly as stored in its column (the detail as its stored JSON
// text, absent positions as ""). The sequence number is bound in, so a row
// cannot move; the previous hash is bound in, so a row cannot be removed,
// inserted or reordered without breaking the chain after it. Hashing the
// digest rather than the content lets an evidence bundle prove that the
// events it carries are in the chain while showing only the digests of the
// events between them (ChainDigest).
//
// The chain begins with an "audit.chain.start" event whose prev_hash is
// empty; in a database created before the chain, the earlier events stay
// unchained and the start event says how many there are. The chain is
// unkeyed (anyone can check it), so someone who can write the database
// could rebuild it: signed checkpoints of its head, entered in the session
// log outside the database, catch that (ChainHead, VerifyChain).

// ChainStartType is the type of the event that begins the audit chain.
const ChainStartType = "audit.chain.start"

// chainVersion is the first element of an event's encoding.
const chainVersion = "bastion.audit.v1"

// storedEvent is an audit row as stored, the form the chain hashes.
type storedEvent struct {
	Event
	at       string // as stored
	detail   string // as stored
	recEvent sql.NullInt64
	recTime  sql.NullFloat64
	prevHash string
	hash     string
}

// chainHash returns the hash of e under prev.
func chainHash(e storedEvent, prev string) string { return ChainLink(prev, e.digest()) }

// ChainLink returns the chain hash of an event with this digest (hex)
// following prev.
func ChainLink(prev, digest string) string {
	sum := sha256.Sum256([]byte(chainVersion + "\n" + prev + "\n" + digest))
	return hex.EncodeToString(sum[:])
}

// digest returns the hex digest of e's stored content.
func (e storedEvent) digest() string { return e.chainForm().Digest() }

// ChainEvent is an audit event in the form the chain hashes: every column
// as stored, so that the chain can be checked with no database (evidence
// bundles carry events in this form).
type ChainEvent struct {
	Seq        int64  `json:"seq"`
	At         string `json:"at"`
	Type       string `json:"type"`
	Outcome    string `json:"outcome"`
	SessionID  string `json:"session_id"`
	ConnID     string `json:"conn_id"`
	Identity   string `json:"identity"`
	SourceAddr string `json:"source_addr"`
	Target     string `json:"target"`
	Login      string `json:"login"`
	Reason     string `json:"reason"`
	Detail     string `json:"detail"`    // the stored JSON text
	RecEvent   string `json:"rec_event"` // decimal, or ""
	RecTime    string `json:"rec_time"`  // shortest decimal form, or ""
	PrevHash   string `json:"prev_hash"`
	Hash       string `json:"hash"`
}

// Digest returns the hex digest of the event's content (chain.go).
func (e ChainEvent) Digest() string {
	enc, _ := json.Marshal([]any{chainVersion, e.Seq, e.At, e.Type, e.Outcome, e.SessionID, e.ConnID,
		e.Identity, e.SourceAddr, e.Target, e.Login, e.Reason, e.Detail, e.RecEvent, e.RecTime})
	sum := sha256.Sum256(enc)
	return hex.EncodeToString(sum[:])
}

func (e storedEvent) chainForm() ChainEvent {
	c := ChainEvent{Seq: e.Seq, At: e.at, Type: e.Type, Outcome: e.Outcome, SessionID: e.SessionID, ConnID: e.ConnID,
		Identity: e.Identity, SourceAddr: e.SourceAddr, Target: e.Target, Login: e.Login, Reason: e.Reason,
		Detail: e.detail, PrevHash: e.prevHash, Hash: e.hash}
	if e.recEvent.Valid {
		c.RecEvent = strconv.FormatInt(e.recEvent.Int64, 10)
	}
	if e.recTime.Valid {
		c.RecTime = strconv.FormatFloat(e.recTime.Float64, 'g', -1, 64)
	}
	return c
}

// ChainEvents calls fn with each event from seq from to seq to (inclusive;
// to <= 0 means the newest), in order, as the chain hashes them.
func (s *Store) ChainEvents(ctx context.Context, from, to int64, fn func(ChainEvent) error) error {
	if to <= 0 {
		to = 1 << 62
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+eventColumns+` FROM audit_events WHERE seq >= ? AND seq <= ? ORDER BY seq`, from, to)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		se, err := scanEvent(rows)
		if err != nil {
			return err
		}
		if err := fn(se.chainForm()); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ChainHead is the newest event of the audit chain.
type ChainHead struct {
	Seq   int64  `json:"seq"`   // sequence number of the newest event
	Hash  string `json:"hash"`  // its chain hash
	Start int64  `json:"start"` // sequence number of the chain's start event
}

// ChainHead returns the head of the audit chain, for a checkpoint.
func (s *Store) ChainHead(ctx context.Context) (ChainHead, error) {
	var h ChainHead
	err := s.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&h.Seq, &h.Hash)
	if err != nil {
		return h, fmt.Errorf("store: chain head: %w", err)
	}
	err = s.db.QueryRowContext(ctx, `SELECT seq FROM audit_events WHERE type = ? AND prev_hash = '' AND hash != '' ORDER BY seq LIMIT 1`,
		ChainStartType).Scan(&h.Start)
	if err != nil {
		return h, fmt.Errorf("store: chain start: %w", err)
	}
	return h, nil
}

// appendEvent adds e to the chain in one transaction that is the chain's
// only writer until it ends, whichever process or node writes: on SQLite
// the write lock is taken when the transaction begins (_txlock=immediate),
// on PostgreSQL an advisory lock is (dialect.go). So the head read here is
// still the head when the row is inserted, and two writers never both
// extend the same head (the seq primary key would refuse the second
// anyway). auditMu spares this process's writers from contending for it.
func (s *Store) appendEvent(ctx context.Context, e Event, detail string, startOnly bool) error {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.appendEventTx(ctx, tx, e, detail, startOnly); err != nil {
		return err
	}
	return tx.Commit()
}

// appendEventTx adds e to the chain inside tx, which the caller commits:
// the event and whatever else tx changed happen together or not at all.
// The caller holds auditMu.
func (s *Store) appendEventTx(ctx context.Context, tx txn, e Event, detail string, startOnly bool) error {
	if err := tx.lock(ctx, s.db.d.lockChain); err != nil {
		return err
	}
	var last sql.NullInt64
	var prev sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if startOnly {
		var chained int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE hash != ''`).Scan(&chained); err != nil {
			return err
		}
		if chained > 0 {
			return nil // started already, perhaps by another process
		}
		prev.String = ""
		if e.Detail == nil {
			e.Detail = map[string]any{}
		}
		e.Detail["unchained_through_seq"] = last.Int64
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return err
		}
		detail = string(b)
	}
	se := storedEvent{Event: e, at: e.At.UTC().Format(timeFormat), detail: detail}
	se.Seq = last.Int64 + 1
	if e.RecEvent != nil {
		se.recEvent = sql.NullInt64{Int64: *e.RecEvent, Valid: true}
	}
	if e.RecTime != nil {
		se.recTime = sql.NullFloat64{Float64: *e.RecTime, Valid: true}
	}
	se.prevHash = prev.String
	se.hash = chainHash(se, se.prevHash)
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_events
		(seq, at, type, outcome, session_id, conn_id, identity, source_addr, target, login, reason, detail,
		 rec_event, rec_time, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		se.Seq, se.at, e.Type, e.Outcome, e.SessionID, e.ConnID, e.Identity, e.SourceAddr, e.Target,
		e.Login, e.Reason, se.detail, se.recEvent, se.recTime, se.prevHash, se.hash)
	return err
}

// startChain begins the audit chain if it has not begun: a new database's
// first event, or, in a database from before the chain, the event that
// says from where on events are chained.
func (s *Store) startChain(ctx context.Context) error {
	e := Event{At: time.Now(), Type: ChainStartType, Outcome: OutcomeInfo,
		Reason: "audit events from here on are hash-chained"}
	if err := s.appendEvent(ctx, e, "", true); err != nil {
		return fmt.Errorf("store: start audit chain: %w", err)
	}
	return nil
}
