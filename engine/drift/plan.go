package drift

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/ddl"
	"pgtenant/engine/scratch"
	"pgtenant/schema"
)

// Declared is the catalog the declaration m makes: the first migration of m (ddl.Diff(nil, m)) applied to a
// scratch database created through serverURL (statement by statement: scratch.ExecEach), read inside the transaction that applied it, which is then rolled
// back. The roles the migration creates are cluster-wide, and the rollback removes them again; so the role of
// serverURL needs CREATEDB, and CREATEROLE unless the declared roles exist (as NOSUPERUSER NOBYPASSRLS). The
// scratch database is dropped before Declared returns.
func Declared(ctx context.Context, serverURL string, m *schema.Model) (*Catalog, error) {
	// The declaration's SQL runs only once PostgreSQL's grammar has read each fragment as exactly one expression
	// (schema.Load checks it; so does this, for a model from elsewhere), and then statement by statement.
	if d := schema.CheckFragments(m); d.HasErrors() {
		return nil, fmt.Errorf("drift: the declaration's SQL does not pass `pgtenant validate`: %w", d)
	}
	changes, err := ddl.Diff(nil, m)
	if err != nil {
		return nil, fmt.Errorf("drift: plan the declaration: %w", err)
	}
	up, _ := ddl.Render(changes, ddl.SingleNode).Files()
	cfg, err := pgx.ParseConfig(serverURL)
	if err != nil {
		return nil, fmt.Errorf("drift: scratch database: %w", err)
	}
	var cat *Catalog
	err = scratch.With(ctx, serverURL, "pgtenant_plan_", func(database string) error {
		dbCfg := cfg.Copy()
		dbCfg.Database = database
		conn, err := pgx.ConnectConfig(ctx, dbCfg)
		if err != nil {
			return fmt.Errorf("drift: connect to the scratch database: %w", err)
		}
		defer func() {
			cctx, cancel := scratch.CleanupContext(ctx)
			defer cancel()
			_ = conn.Close(cctx)
		}()
		tx, err := conn.Begin(ctx)
		if err != nil {
			return fmt.Errorf("drift: scratch database: %w", err)
		}
		// An explicit rollback, so that the roles are gone when Declared returns; if the connection broke, the
		// server rolls back when the scratch database is dropped WITH (FORCE).
		defer func() {
			cctx, cancel := scratch.CleanupContext(ctx)
			defer cancel()
			_ = tx.Rollback(cctx)
		}()
		// Statement by statement, each alone in the extended protocol, which the server refuses to read as more.
		if _, _, err := scratch.ExecEach(ctx, tx.Conn().PgConn(), up); err != nil {
			return fmt.Errorf("drift: apply the declaration to a scratch database (does `pgtenant validate` pass?): %w", err)
		}
		cat, err = Read(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return cat, nil
}

// Plan compares the live database with the declaration m and returns the differences, in the order their SQL
// must run (see Compare): the declaration's catalog is Declared on a scratch database created through serverURL
// (which may be on another server than live), the live one is Read from live.
func Plan(ctx context.Context, live DB, serverURL string, m *schema.Model) ([]Difference, error) {
	want, err := Declared(ctx, serverURL, m)
	if err != nil {
		return nil, err
	}
	got, err := Read(ctx, live)
	if err != nil {
		return nil, err
	}
	return Compare(want, got), nil
}
