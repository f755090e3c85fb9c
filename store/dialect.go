package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// The store runs the same SQL on SQLite and on PostgreSQL through
// database/sql. What differs between the two is kept here: placeholders
// (SQLite takes "?", PostgreSQL "$1"), the few statements that have no
// common form, and how a writer serialises with writers in other
// processes. Every query in the package goes through handle or txn below,
// which rewrite placeholders, so the rest of the package is written once,
// with "?".

// Backend names, as Store.Backend reports them.
const (
	BackendSQLite   = "sqlite"
	BackendPostgres = "postgres"
)

// dialect is what one backend needs said differently.
type dialect struct {
	name string
	// dollar rewrites "?" placeholders as "$1", "$2", ...
	dollar bool
	// lockChain, run first in an audit append's transaction, makes that
	// transaction the only writer of the chain until it ends, whichever
	// process or node runs it. Empty for SQLite, whose transactions take
	// the database's write lock when they begin (_txlock=immediate).
	lockChain string
	// lockMigrations does the same for schema migrations.
	lockMigrations string
	// lockLog does the same for the session log (sessionlog.go).
	lockLog string
	// columns lists the columns of the table named by the one argument.
	columns string
	// decisionOrder orders an approval's decisions as they were written.
	decisionOrder string
	// notify, run in a writing transaction with the channel and payload,
	// tells other processes of the change when it commits (changes.go).
	// Empty for SQLite, whose readers poll.
	notify string
	// nowMillis is the database's clock in milliseconds since the Unix
	// epoch: heartbeats are written and judged on the one clock every node
	// shares, so a node whose own clock is off is not taken for dead
	// (nodes.go).
	nowMillis string
}

// Advisory lock keys (pg_advisory_xact_lock takes one bigint): arbitrary,
// fixed, and distinct from each other.
const (
	chainLockKey     = 0x62617374_00000001 // "bast" 1
	migrationLockKey = 0x62617374_00000002 // "bast" 2
	logLockKey       = 0x62617374_00000003 // "bast" 3
)

var (
	sqliteDialect = dialect{
		name:          BackendSQLite,
		columns:       `SELECT name FROM pragma_table_info(?)`,
		decisionOrder: `rowid`,
		nowMillis:     `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`,
	}
	postgresDialect = dialect{
		name:           BackendPostgres,
		dollar:         true,
		lockChain:      `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(chainLockKey, 10) + `)`,
		lockMigrations: `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(migrationLockKey, 10) + `)`,
		lockLog:        `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(logLockKey, 10) + `)`,
		columns: `SELECT column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ?`,
		decisionOrder: `decision_seq`,
		notify:        `SELECT pg_notify(?, ?)`,
		nowMillis:     `CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)`,
	}
)

// rebind returns q with its placeholders in the dialect's form. A "?"
// inside a quoted literal is left alone.
func (d dialect) rebind(q string) string {
	if !d.dollar || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'':
			quoted = !quoted
			b.WriteByte(c)
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// handle is the database handle every query of the package goes through.
type handle struct {
	*sql.DB
	d dialect
}

func (x handle) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return x.DB.ExecContext(ctx, x.d.rebind(q), args...)
}

func (x handle) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return x.DB.QueryContext(ctx, x.d.rebind(q), args...)
}

func (x handle) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return x.DB.QueryRowContext(ctx, x.d.rebind(q), args...)
}

func (x handle) BeginTx(ctx context.Context, opts *sql.TxOptions) (txn, error) {
	t, err := x.DB.BeginTx(ctx, opts)
	return txn{t, x.d}, err
}

// txn is a transaction whose queries are rebound like handle's.
type txn struct {
	*sql.Tx
	d dialect
}

func (x txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return x.Tx.ExecContext(ctx, x.d.rebind(q), args...)
}

func (x txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return x.Tx.QueryContext(ctx, x.d.rebind(q), args...)
}

func (x txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return x.Tx.QueryRowContext(ctx, x.d.rebind(q), args...)
}

// lock runs the dialect's lock statement, if it has one.
func (x txn) lock(ctx context.Context, stmt string) error {
	if stmt == "" {
		return nil
	}
	_, err := x.Tx.ExecContext(ctx, stmt)
	return err
}
