// Package rls reads and flips the row-level security switches of the tables in schema public: the emergency
// switches behind `pgtenant rls status|disable|enable`.
//
// Input is a connection as the tables' owner (ADMIN_DATABASE_URL); output is the state of each table, or the
// switch applied in one transaction. The SQL text comes from engine/ddl. Turning row-level security off is
// recorded in PostgreSQL's own server log (a WARNING raised in the same transaction, with the database user the
// server logs and the operator the caller names), so the audit trail does not depend on who kept the CLI's output.
//
// rls imports pgx, schema, engine/ddl and engine/introspect (the catalog read); it must not import net/http or
// engine/httpapi.
package rls

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"pgtenant/engine/ddl"
	"pgtenant/engine/introspect"
	"pgtenant/schema"
)

// DB is what the functions of this package need: a *pgx.Conn, a *pgxpool.Pool or a pgx.Tx.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	Begin(ctx context.Context) (pgx.Tx, error)
}

// ErrUnknownTable is returned for a name that is no table of schema public.
var ErrUnknownTable = errors.New("rls: no such table in schema public")

// Table is the row-level security state of one table of schema public.
type Table struct {
	Name     string // unqualified
	Enabled  bool   // ENABLE ROW LEVEL SECURITY: the policies apply to every role but the owner
	Forced   bool   // FORCE ROW LEVEL SECURITY: they apply to the owner too
	Policies int    // how many policies the table has (they do nothing while Enabled is false)
	Owner    string
}

// Status returns every ordinary and partitioned table of schema public, sorted by name (partitions too: a
// partition can be queried directly, and its own switches decide what such a query sees). It reads the catalog
// with introspect.Read.
func Status(ctx context.Context, db DB) ([]Table, error) {
	c, err := introspect.Read(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("rls: read tables: %w", err)
	}
	var out []Table
	for _, t := range c.Tables {
		if t.Schema == ddl.Schema {
			out = append(out, Table{Name: t.Name, Enabled: t.RowSecurity, Forced: t.ForceRowSecurity,
				Policies: len(t.Policies), Owner: t.Owner})
		}
	}
	return out, nil
}

// Disable turns row-level security off on table (NO FORCE, then DISABLE), in one transaction that also writes a
// WARNING naming the table and operator to the server log. Every role with a privilege on the table then sees and
// changes every tenant's rows. Returns ErrUnknownTable when public has no such table.
func Disable(ctx context.Context, db DB, table, operator string) error {
	return apply(ctx, db, []string{table}, operator, false)
}

// Enable enables and forces row-level security on each of tables, in one transaction: all of them or, on any
// error, none. Returns ErrUnknownTable (naming the table) when public lacks one of them.
func Enable(ctx context.Context, db DB, tables []string, operator string) error {
	return apply(ctx, db, tables, operator, true)
}

func apply(ctx context.Context, db DB, tables []string, operator string, on bool) error {
	verb := "disable"
	if on {
		verb = "enable"
	}
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		c, err := introspect.Read(ctx, tx)
		if err != nil {
			return fmt.Errorf("rls: %s %s: %w", verb, strings.Join(tables, ", "), err)
		}
		for _, t := range tables {
			if c.Table(ddl.Schema, t) == nil {
				return fmt.Errorf("%w: %q", ErrUnknownTable, t)
			}
			name := ddl.Qualified(ddl.Schema, t)
			stmt := ddl.DisableRowSecurity(name)
			if on {
				stmt = ddl.EnableRowSecurity(name)
			}
			// The statements and the log line go as one simple-protocol message, inside the transaction: the
			// line is logged only if the switch is.
			if _, err := tx.Exec(ctx, ddl.SQL(ddl.SingleNode, stmt...)+"\n"+auditSQL(verb+"d", name, operator)); err != nil {
				return fmt.Errorf("rls: %s %s: %w", verb, name, err)
			}
		}
		return nil
	})
}

// auditSQL raises a WARNING, which PostgreSQL writes to its server log (log_min_messages is warning by default)
// with the session's user and time as log_line_prefix says, naming what was done and by which operator.
func auditSQL(done, table, operator string) string {
	msg := fmt.Sprintf("row-level security %s on %s by %s (pgtenant rls)", done, table, operator)
	body := "BEGIN RAISE WARNING 'pgtenant: %', " + schema.QuoteLiteral(msg) + "; END"
	return "DO " + schema.QuoteLiteral(body) + ";"
}
