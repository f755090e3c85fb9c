package store

import (
	"context"
	"fmt"
	"regexp"
)

// tableName matches the names OptionalRows accepts, so that a name is never
// SQL.
var tableName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// OptionalRows returns the rows of table whose column equals value, each
// as a map of column to value, or nil when the table (or the column) does
// not exist in this database. Readers of tables that another part of the
// bastion adds (approvals) use it, so they work with databases that have
// them and with those that do not.
func (s *Store) OptionalRows(ctx context.Context, table, column, value string) ([]map[string]any, error) {
	if !tableName.MatchString(table) || !tableName.MatchString(column) {
		return nil, fmt.Errorf("store: bad table or column name %q.%q", table, column)
	}
	has, err := hasColumn(ctx, s.db, s.db.d, table, column)
	if err != nil || !has {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT * FROM `+table+` WHERE `+column+` = ?`, value)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var out []map[string]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			if b, ok := vals[i].([]byte); ok {
				vals[i] = string(b)
			}
			m[c] = vals[i]
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
