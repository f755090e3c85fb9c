// Package store keeps sessions and the audit trail in SQLite (WAL mode).
//
// The audit table is append-only: the package offers no update or delete
// for it. SQL is kept portable (no SQLite-only syntax beyond the pragmas in
// Open) so that a PostgreSQL store can implement the same methods.
package store
