// Package store keeps sessions, the hash-chained audit trail, approvals,
// revocations, used login tokens and the rows of the shared session log,
// in SQLite (WAL mode; the default) or
// in PostgreSQL, shared by several bastions.
//
// Both run the same SQL through database/sql (dialect.go holds what
// differs: placeholders, locks, notifications), the schema is versioned
// (migrations.go), and the tests run every case on both. What one process
// used to serialise with a mutex is serialised in the database, so that it
// holds between nodes too: audit appends (chain.go), approval decisions
// (approvals.go), token first use (tokens.go), session log appends
// (sessionlog.go). Decisions other processes
// wait for are announced on a change feed (changes.go).
//
// The audit table is append-only: the package offers no update or delete
// for it.
package store
