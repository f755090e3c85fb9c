package store

import "context"

// migration is one versioned change to the schema. Versions are applied
// in order, each once, and recorded in schema_migrations. A migration's
// SQL is idempotent (CREATE ... IF NOT EXISTS, columns added only when
// missing), because SQLite databases written before migrations were
// versioned already hold some of what the first versions create.
//
// Add a change as a new version at the end; never edit a released one.
type migration struct {
	version int
	name    string
	// sqlite and postgres are the statements for each backend; either
	// may be empty.
	sqlite, postgres string
	// columns are added to existing tables when missing (both backends).
	columns []addedColumn
	// step, if set, runs after the statements, in the same transaction.
	step func(ctx context.Context, s *Store, t txn) error
}

// addedColumn is a column added to a table after its first release.
type addedColumn struct{ table, column, decl string }

// migrations is the schema's history. The PostgreSQL statements keep
// times as the same RFC 3339 text as SQLite (the audit chain hashes the
// stored text), with the "C" collation, so that text compares and sorts
// by byte as in SQLite, whatever the database's locale.
var migrations = []migration{
	{version: 1, name: "sessions, audit events and revocations", sqlite: `
CREATE TABLE IF NOT EXISTS sessions (
	id            TEXT PRIMARY KEY,
	conn_id       TEXT NOT NULL,
	identity      TEXT NOT NULL,
	source_addr   TEXT NOT NULL,
	target        TEXT NOT NULL,
	login         TEXT NOT NULL,
	kind          TEXT NOT NULL,
	command       TEXT NOT NULL DEFAULT '',
	started_at    TEXT NOT NULL,
	ended_at      TEXT,
	exit_status   INTEGER,
	exit_signal   TEXT NOT NULL DEFAULT '',
	end_reason    TEXT NOT NULL DEFAULT '',
	recording     TEXT NOT NULL DEFAULT '',
	recording_size INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_started ON sessions(started_at);
CREATE TABLE IF NOT EXISTS audit_events (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	at           TEXT NOT NULL,
	type         TEXT NOT NULL,
	outcome      TEXT NOT NULL,
	session_id   TEXT NOT NULL DEFAULT '',
	conn_id      TEXT NOT NULL DEFAULT '',
	identity     TEXT NOT NULL DEFAULT '',
	source_addr  TEXT NOT NULL DEFAULT '',
	target       TEXT NOT NULL DEFAULT '',
	login        TEXT NOT NULL DEFAULT '',
	reason       TEXT NOT NULL DEFAULT '',
	detail       TEXT NOT NULL DEFAULT '{}',
	rec_event    INTEGER,
	rec_time     REAL
);
CREATE INDEX IF NOT EXISTS audit_session ON audit_events(session_id);
CREATE TABLE IF NOT EXISTS revocations (
	serial     TEXT NOT NULL DEFAULT '',
	identity   TEXT NOT NULL DEFAULT '',
	revoked_at TEXT NOT NULL,
	reason     TEXT NOT NULL DEFAULT ''
);`, postgres: `
CREATE TABLE IF NOT EXISTS sessions (
	id            TEXT COLLATE "C" PRIMARY KEY,
	conn_id       TEXT NOT NULL,
	identity      TEXT COLLATE "C" NOT NULL,
	source_addr   TEXT NOT NULL,
	target        TEXT COLLATE "C" NOT NULL,
	login         TEXT NOT NULL,
	kind          TEXT NOT NULL,
	command       TEXT NOT NULL DEFAULT '',
	started_at    TEXT COLLATE "C" NOT NULL,
	ended_at      TEXT COLLATE "C",
	exit_status   INTEGER,
	exit_signal   TEXT NOT NULL DEFAULT '',
	end_reason    TEXT NOT NULL DEFAULT '',
	recording     TEXT COLLATE "C" NOT NULL DEFAULT '',
	recording_size BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_started ON sessions(started_at);
CREATE TABLE IF NOT EXISTS audit_events (
	seq          BIGINT PRIMARY KEY,
	at           TEXT COLLATE "C" NOT NULL,
	type         TEXT COLLATE "C" NOT NULL,
	outcome      TEXT NOT NULL,
	session_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
	conn_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
	identity     TEXT COLLATE "C" NOT NULL DEFAULT '',
	source_addr  TEXT NOT NULL DEFAULT '',
	target       TEXT NOT NULL DEFAULT '',
	login        TEXT NOT NULL DEFAULT '',
	reason       TEXT NOT NULL DEFAULT '',
	detail       TEXT NOT NULL DEFAULT '{}',
	rec_event    BIGINT,
	rec_time     DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS audit_session ON audit_events(session_id);
CREATE TABLE IF NOT EXISTS revocations (
	serial     TEXT COLLATE "C" NOT NULL DEFAULT '',
	identity   TEXT COLLATE "C" NOT NULL DEFAULT '',
	revoked_at TEXT COLLATE "C" NOT NULL,
	reason     TEXT NOT NULL DEFAULT ''
);`},
	{version: 2, name: "audit chain (chain.go)", columns: []addedColumn{
		// Empty on events written before the chain began.
		{"audit_events", "prev_hash", "TEXT NOT NULL DEFAULT ''"},
		{"audit_events", "hash", "TEXT NOT NULL DEFAULT ''"},
	}},
	{version: 3, name: "used login tokens (tokens.go)", sqlite: `
CREATE TABLE IF NOT EXISTS used_tokens (
	issuer     TEXT NOT NULL,
	token_id   TEXT NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER NOT NULL,
	PRIMARY KEY (issuer, token_id)
);
CREATE INDEX IF NOT EXISTS used_tokens_expiry ON used_tokens(expires_at);`, postgres: `
CREATE TABLE IF NOT EXISTS used_tokens (
	issuer     TEXT NOT NULL,
	token_id   TEXT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at    BIGINT NOT NULL,
	PRIMARY KEY (issuer, token_id)
);
CREATE INDEX IF NOT EXISTS used_tokens_expiry ON used_tokens(expires_at);`},
	{version: 4, name: "approvals (approvals.go)", sqlite: `
CREATE TABLE IF NOT EXISTS approvals (
	id            TEXT PRIMARY KEY,
	requester     TEXT NOT NULL,
	source_addr   TEXT NOT NULL DEFAULT '',
	target        TEXT NOT NULL,
	login         TEXT NOT NULL,
	session_id    TEXT NOT NULL DEFAULT '',
	command       TEXT NOT NULL,
	command_key   TEXT NOT NULL,
	justification TEXT NOT NULL DEFAULT '',
	rule          TEXT NOT NULL,
	reviewers     TEXT NOT NULL DEFAULT '[]',
	needed        INTEGER NOT NULL,
	created_at    TEXT NOT NULL,
	deadline      TEXT NOT NULL,
	state         TEXT NOT NULL,
	closed_at     TEXT,
	used_at       TEXT
);
CREATE INDEX IF NOT EXISTS approvals_state ON approvals(state);
CREATE TABLE IF NOT EXISTS approval_decisions (
	approval_id TEXT NOT NULL REFERENCES approvals(id),
	reviewer    TEXT NOT NULL,
	channel     TEXT NOT NULL,
	approve     INTEGER NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	at          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS approval_decisions_id ON approval_decisions(approval_id);`, postgres: `
CREATE TABLE IF NOT EXISTS approvals (
	id            TEXT COLLATE "C" PRIMARY KEY,
	requester     TEXT COLLATE "C" NOT NULL,
	source_addr   TEXT NOT NULL DEFAULT '',
	target        TEXT NOT NULL,
	login         TEXT NOT NULL,
	session_id    TEXT NOT NULL DEFAULT '',
	command       TEXT NOT NULL,
	command_key   TEXT NOT NULL,
	justification TEXT NOT NULL DEFAULT '',
	rule          TEXT NOT NULL,
	reviewers     TEXT NOT NULL DEFAULT '[]',
	needed        INTEGER NOT NULL,
	created_at    TEXT COLLATE "C" NOT NULL,
	deadline      TEXT COLLATE "C" NOT NULL,
	state         TEXT COLLATE "C" NOT NULL,
	closed_at     TEXT COLLATE "C",
	used_at       TEXT COLLATE "C"
);
CREATE INDEX IF NOT EXISTS approvals_state ON approvals(state);
CREATE TABLE IF NOT EXISTS approval_decisions (
	decision_seq BIGSERIAL PRIMARY KEY,
	approval_id  TEXT NOT NULL REFERENCES approvals(id),
	reviewer     TEXT NOT NULL,
	channel      TEXT NOT NULL,
	approve      BOOLEAN NOT NULL,
	reason       TEXT NOT NULL DEFAULT '',
	at           TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS approval_decisions_id ON approval_decisions(approval_id);`},
	{version: 5, name: "retention marks on sessions (retention)", columns: []addedColumn{
		// When and why a session's recording was deleted. The row stays,
		// so that verify can tell deleted from missing.
		{"sessions", "deleted_at", `TEXT`},
		{"sessions", "deleted_reason", "TEXT NOT NULL DEFAULT ''"},
	}},
	{version: 6, name: "recording paths relative to the data directory", step: func(ctx context.Context, s *Store, t txn) error {
		return s.relativizeRecordings(ctx, t)
	}},
	{version: 7, name: "the node that ran each session", columns: []addedColumn{
		// Empty on sessions from before nodes were named.
		{"sessions", "node", "TEXT NOT NULL DEFAULT ''"},
	}},
	{version: 8, name: "the session log shared by every node (sessionlog.go)", sqlite: `
CREATE TABLE IF NOT EXISTS log_records (
	idx    INTEGER PRIMARY KEY,
	record BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS log_hashes (
	idx  INTEGER PRIMARY KEY,
	hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS log_heads (
	size INTEGER PRIMARY KEY,
	head BLOB NOT NULL
);`, postgres: `
CREATE TABLE IF NOT EXISTS log_records (
	idx    BIGINT PRIMARY KEY,
	record BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS log_hashes (
	idx  BIGINT PRIMARY KEY,
	hash BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS log_heads (
	size BIGINT PRIMARY KEY,
	head BYTEA NOT NULL
);`},
	{version: 9, name: "node heartbeats, and sessions ended for a dead node (nodes.go)", sqlite: `
CREATE TABLE IF NOT EXISTS nodes (
	name       TEXT PRIMARY KEY,
	instance   TEXT NOT NULL,
	host       TEXT NOT NULL DEFAULT '',
	pid        INTEGER NOT NULL DEFAULT 0,
	started_ms INTEGER NOT NULL,
	beat_ms    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_running ON sessions(node) WHERE ended_at IS NULL;`, postgres: `
CREATE TABLE IF NOT EXISTS nodes (
	name       TEXT COLLATE "C" PRIMARY KEY,
	instance   TEXT NOT NULL,
	host       TEXT NOT NULL DEFAULT '',
	pid        INTEGER NOT NULL DEFAULT 0,
	started_ms BIGINT NOT NULL,
	beat_ms    BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_running ON sessions(node) WHERE ended_at IS NULL;`, columns: []addedColumn{
		// The node that ended the session on behalf of its dead node
		// (Session.Status "incomplete"); empty when the session's own
		// node ended it.
		{"sessions", "ended_by", "TEXT NOT NULL DEFAULT ''"},
	}},
}
