package backup

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"pgtenant/engine/ddl"
	"pgtenant/schema"
)

// formatSQL makes the text PostgreSQL writes and reads independent of the server's and the role's settings, so
// that a backup reads back identically in another database: timestamps in UTC and ISO style, floats in their
// shortest exact form, bytea in hex. Every setting is transaction-local (set_config(…, true)).
const formatSQL = `SELECT set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true),
       set_config('IntervalStyle', 'postgres', true), set_config('extra_float_digits', '1', true),
       set_config('bytea_output', 'hex', true)`

// copyOutSQL is the statement that writes t's rows of the transaction's tenant. COPY takes no bind parameters:
// the tenant comes from the transaction's setting through the same predicate as the policies
// (ddl.TenantPredicate), so the statement filters by tenant itself and RLS stays the guarantee underneath.
func copyOutSQL(m *schema.Model, t *schema.Table) string {
	return "COPY (SELECT " + ddl.Idents(columnNames(t)) + " FROM " + ddl.TableName(t) + " WHERE " + ddl.TenantPredicate(m) +
		" ORDER BY " + orderBy(t) + ") TO STDOUT"
}

// orderBy is t's primary key, text columns compared in the "C" collation: the order must not depend on the
// database's collation, or a restore into a database with another one would read back in another order.
func orderBy(t *schema.Table) string {
	keys := make([]string, len(t.PrimaryKey.Columns))
	for i, name := range t.PrimaryKey.Columns {
		keys[i] = ddl.Ident(name)
		if c := t.Column(name); c != nil && collatable(c.Type) {
			keys[i] += ` COLLATE "C"`
		}
	}
	return strings.Join(keys, ", ")
}

// collatable reports whether a type, as format_type spells it, is one of the built-in string types.
func collatable(typ string) bool {
	for _, p := range []string{"text", "character", "citext", "name"} {
		if typ == p || strings.HasPrefix(typ, p+" ") || strings.HasPrefix(typ, p+"(") || strings.HasPrefix(typ, p+"[") {
			return true
		}
	}
	return false
}

// Querier is what SchemaVersion reads through: a *pgx.Conn, a *pgxpool.Pool or a pgx.Tx.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// SchemaVersion returns the migration version recorded in golang-migrate's schema_migrations table (0 when none
// is applied). db must be able to read that table: the owner's connection (ADMIN_DATABASE_URL); the app login
// cannot. Returns ErrDirty when the last migration failed.
func SchemaVersion(ctx context.Context, db Querier) (uint, error) {
	var (
		version int64
		dirty   bool
	)
	err := db.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations LIMIT 1`).Scan(&version, &dirty)
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, nil
	case errors.As(err, &pgErr) && pgErr.Code == "42P01":
		return 0, fmt.Errorf("backup: read the schema version: no migration was ever applied (no schema_migrations table)")
	case err != nil:
		return 0, fmt.Errorf("backup: read the schema version: %w", err)
	}
	if version < 0 {
		version = 0
	}
	if dirty {
		return uint(version), fmt.Errorf("%w at version %d: finish or force the migration first (pgtenant migrate status)",
			ErrDirty, version)
	}
	return uint(version), nil
}
