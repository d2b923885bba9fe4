package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/ddl"
	"pgtenant/engine/introspect"
	"pgtenant/engine/pgtx"
	"pgtenant/schema"
)

// Target is where Restore writes.
type Target struct {
	Tenancy       schema.Tenancy // the declaration's tenancy
	Tenant        Tenant         // the tenant the rows are written for: it must exist in the target's registry
	Role          string         // the declared role to write as: it needs SELECT and INSERT (and DELETE with Replace)
	SchemaVersion uint           // the target database's migration version (SchemaVersion)
	Replace       bool           // delete the tenant's rows first, instead of refusing a tenant that has rows
	Trust         Trust          // what the file's origin must be: its HMAC verified with a Key, or allowed unverified
}

// stagingTable receives one table's rows by COPY, then is emptied into the table by INSERT … SELECT: PostgreSQL
// refuses COPY FROM into a table with row-level security, and the INSERT is checked by the policies like any
// other. It is temporary, and dropped after each table.
const stagingTable = "pgtenant_restore"

// Restore loads the backup that r holds into dst.Tenant, in one transaction bound to that tenant (through the
// login, DATABASE_URL, acting as dst.Role), and returns the backup's manifest. Before writing anything it checks
// the file's format, its schema version and hash against the target's (a *SchemaError when they differ) and that
// the tenant has no rows (ErrTenantHasRows; with dst.Replace they are deleted instead). Tables are loaded in the
// file's foreign key order; the tenant column of every row is the target tenant, from the transaction's setting,
// never from the file. The file's checksums are verified as it streams by, and every table is read back before
// the commit and must match the manifest (ErrMismatch). The file's origin must satisfy dst.Trust (ErrForged,
// ErrUnauthenticated): what its header settles is refused before anything is sent, and its HMAC is verified before
// the commit. On any error nothing is written: a damaged file gives an error wrapping ErrCorrupt (or ErrTruncated),
// even when PostgreSQL refused its rows first.
func Restore(ctx context.Context, runner *pgtx.Runner, dst Target, r io.Reader) (*Manifest, error) {
	scope := pgtx.Scope{Setting: dst.Tenancy.Setting, Tenant: dst.Tenant.ID, Role: dst.Role,
		Citus: dst.Tenancy.Citus()}
	var m *Manifest
	err := runner.Tx(ctx, scope, func(ctx context.Context, tx pgx.Tx) (bool, error) {
		if _, err := tx.Exec(ctx, formatSQL); err != nil {
			return false, fmt.Errorf("backup: set the input format: %w", err)
		}
		model, err := introspect.Load(ctx, tx, dst.Tenancy)
		if err != nil {
			return false, fmt.Errorf("backup: %w", err)
		}
		tables, err := order(model)
		if err != nil {
			return false, err
		}
		hash := SchemaHash(model)
		check := func(h *Manifest) error {
			if h.SchemaVersion != dst.SchemaVersion || h.SchemaHash != hash {
				return &SchemaError{FileVersion: h.SchemaVersion, DBVersion: dst.SchemaVersion, FileHash: h.SchemaHash, DBHash: hash}
			}
			// Equal hashes mean equal tables, and order is deterministic: a difference is damage to the header.
			if !slices.EqualFunc(h.Tables, tables, func(a Table, b *schema.Table) bool {
				return a.Name == b.Name && slices.Equal(a.Columns, columnNames(b))
			}) {
				return fmt.Errorf("%w: the header's tables do not match its schema hash", ErrCorrupt)
			}
			return prepare(ctx, tx, model, tables, dst.Replace)
		}
		i := 0
		load := func(_ Table, rows io.Reader) (int64, error) {
			t := tables[i] // check made sure the file's tables are these, in this order
			i++
			return loadTable(ctx, tx, t, rows)
		}
		if m, err = read(ctx, r, dst.Trust, check, load); err != nil {
			return false, err
		}
		return true, readBack(ctx, tx, model, tables, m)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// prepare makes sure the tenant has no rows: it deletes them (children first) when replace is set, and returns
// ErrTenantHasRows otherwise.
func prepare(ctx context.Context, tx pgx.Tx, model *schema.Model, tables []*schema.Table, replace bool) error {
	where := " WHERE " + ddl.TenantPredicate(model)
	if replace {
		for _, t := range slices.Backward(tables) {
			if _, err := tx.Exec(ctx, "DELETE FROM "+ddl.TableName(t)+where); err != nil {
				return fmt.Errorf("backup: delete the tenant's rows of %s: %w", t.Name, err)
			}
		}
		return nil
	}
	for _, t := range tables {
		var has bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM "+ddl.TableName(t)+where+")").Scan(&has); err != nil {
			return fmt.Errorf("backup: read table %s: %w", t.Name, err)
		}
		if has {
			return fmt.Errorf("%w (in table %s)", ErrTenantHasRows, t.Name)
		}
	}
	return nil
}

// loadTable copies rows into a staging table, then inserts them into t. It returns the number of rows inserted.
func loadTable(ctx context.Context, tx pgx.Tx, t *schema.Table, rows io.Reader) (int64, error) {
	cols := ddl.Idents(columnNames(t))
	staging := ddl.Qualified("pg_temp", stagingTable)
	if _, err := tx.Exec(ctx, "CREATE TEMPORARY TABLE "+ddl.Ident(stagingTable)+" ON COMMIT DROP AS SELECT "+cols+
		" FROM "+ddl.TableName(t)+" WITH NO DATA"); err != nil {
		return 0, fmt.Errorf("backup: table %s: create the staging table: %w", t.Name, err)
	}
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, rows, "COPY "+staging+" ("+cols+") FROM STDIN"); err != nil {
		return 0, fmt.Errorf("backup: table %s: %w", t.Name, err)
	}
	tag, err := tx.Exec(ctx, "INSERT INTO "+ddl.TableName(t)+" ("+cols+") SELECT "+cols+" FROM "+staging)
	if err != nil {
		return 0, fmt.Errorf("backup: table %s: %w", t.Name, err)
	}
	if _, err := tx.Exec(ctx, "DROP TABLE "+staging); err != nil {
		return 0, fmt.Errorf("backup: table %s: drop the staging table: %w", t.Name, err)
	}
	return tag.RowsAffected(), nil
}

// readBack reads every table of the tenant as Write would and compares its count and checksum with m.
func readBack(ctx context.Context, tx pgx.Tx, model *schema.Model, tables []*schema.Table, m *Manifest) error {
	for i, t := range tables {
		rows := &rowsWriter{w: io.Discard, sum: sha256.New()}
		if _, err := tx.Conn().PgConn().CopyTo(ctx, rows, copyOutSQL(model, t)); err != nil {
			return fmt.Errorf("backup: read back table %s: %w", t.Name, err)
		}
		switch want := m.Tables[i]; {
		case rows.rows != want.Rows:
			return fmt.Errorf("%w: table %s has %d rows, the backup %d", ErrMismatch, t.Name, rows.rows, want.Rows)
		case hex.EncodeToString(rows.sum.Sum(nil)) != want.SHA256:
			return fmt.Errorf("%w: the rows of table %s have another checksum", ErrMismatch, t.Name)
		}
	}
	return nil
}
