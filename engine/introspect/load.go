package introspect

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/ddl"
	"pgtenant/schema"
)

// Querier is what Load and Check read the catalog through: a *pgx.Conn, a *pgxpool.Pool or a pgx.Tx. Pass a
// REPEATABLE READ transaction to read all the catalog queries from one snapshot.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// memberOfCTE lists the current role and every role it is a member of, directly or through other roles, each
// with via: the role granted to the current role that the membership goes through (0 for the current role
// itself). pg_has_role(…, 'MEMBER') is true of every role for a superuser; walking pg_auth_members keeps "owns a
// table through membership" exact for superusers too. UNION (not UNION ALL) ends the walk on membership cycles.
const memberOfCTE = `member_of(oid, via) AS (
    SELECT oid, 0::oid FROM pg_catalog.pg_roles WHERE rolname = current_user
    UNION
    SELECT m.roleid, CASE member_of.via WHEN 0 THEN m.roleid ELSE member_of.via END
      FROM pg_catalog.pg_auth_members m JOIN member_of ON m.member = member_of.oid
)`

// reachable is true of a table c on which the current role, or a role it is a member of, holds any privilege:
// on the whole table or on one of its columns (a column grant alone is enough to read or write through the API).
// Asking per member role, rather than has_table_privilege(c.oid, …) for the current role, also counts roles a
// NOINHERIT login can only use through SET ROLE.
const reachable = `EXISTS (SELECT FROM member_of r WHERE
        pg_catalog.has_table_privilege(r.oid, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
        OR pg_catalog.has_any_column_privilege(r.oid, c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))`

// tablesQuery lists the ordinary and partitioned tables of schema $1 that the current role can reach. Partitions
// are reached through their parent, as in PostgREST, so they are left out.
const tablesQuery = `WITH RECURSIVE ` + memberOfCTE + `
SELECT c.oid, c.relname, COALESCE(pg_catalog.obj_description(c.oid, 'pg_class'), '')
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND ` + reachable + `
 ORDER BY c.relname`

// columnsQuery lists the live columns of the tables $1, in attnum order. An identity column has no pg_attrdef
// row; its default is spelled as the nextval() call it amounts to, so that callers know a value is supplied. A
// generated column's expression is stored as a default too and reads as one (the model has no flag for either, so
// a write to a GENERATED ALWAYS column still fails in PostgreSQL).
const columnsQuery = `SELECT a.attrelid, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
       a.attnotnull,
       COALESCE(pg_catalog.pg_get_expr(d.adbin, d.adrelid),
                CASE WHEN a.attidentity <> '' THEN pg_catalog.format('nextval(%L::regclass)',
                    pg_catalog.pg_get_serial_sequence(a.attrelid::regclass::text, a.attname)) END,
                ''),
       COALESCE(pg_catalog.col_description(a.attrelid, a.attnum), '')
  FROM pg_catalog.pg_attribute a
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attrelid, a.attnum`

// indexesQuery lists the unique indexes of the tables $1 that can identify a row: valid, not partial, on plain
// columns, and not the primary key (constraintsQuery reads that). A unique constraint is one of these too. Only
// the key columns count (indkey also holds INCLUDE columns, after the first indnkeyatts).
const indexesQuery = `SELECT i.indrelid, ic.relname, i.indnkeyatts, i.indkey::int2[]
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
 WHERE i.indrelid = ANY($1::oid[]) AND i.indisunique AND NOT i.indisprimary AND i.indisvalid
   AND i.indpred IS NULL AND i.indexprs IS NULL
 ORDER BY i.indrelid, ic.relname`

// constraintsQuery lists the primary keys, foreign keys and check constraints of the tables $1. Column lists are
// attnums, named from columnsQuery's answer; a foreign key's confrelid outside $1 (the tenant registry, a table
// the role cannot reach) is left out by Load.
const constraintsQuery = `SELECT conrelid, conname, contype::text, COALESCE(conkey, '{}'), confrelid,
       COALESCE(confkey, '{}'), confdeltype::text, COALESCE(pg_catalog.pg_get_expr(conbin, conrelid), '')
  FROM pg_catalog.pg_constraint
 WHERE conrelid = ANY($1::oid[]) AND contype IN ('p', 'f', 'c')
 ORDER BY conrelid, conname`

// Load reads, from pg_catalog, the tables of schema "public" that the current role (the API's login, a member of
// the declared roles) holds any privilege on, directly or through membership, as a *schema.Model in the
// declaration's shape:
//
//   - A table with the tenancy column is a tenant table: the tenant column is left out of Columns, and its primary
//     key, unique indexes and foreign keys are given without the tenant column, exactly as policies.hcl declares
//     them. A key that the generator could not have made (one that does not lead with the tenant column, or a
//     foreign key between tenant tables that does not pair the tenant columns) has no such form and is left out:
//     a caller must never infer that (tenant column, key…) is unique when it is not. A table without the tenancy
//     column is Shared.
//   - Column.Type is format_type's spelling (compare it with a declared type with SameType), Column.Null is the
//     absence of NOT NULL, and Column.Default is the default expression as PostgreSQL prints it ("" when there is
//     none), so callers know a default exists. Comments are read too.
//   - Indexes holds the unique, non-partial indexes on plain columns (what a conflict target or a row identity can
//     use), each with Unique set; plain and partial indexes are not part of the model read back. Foreign keys are
//     those whose target is in the result; OnDelete is the action, with NO ACTION as schema.NoAction. Checks hold
//     the check constraints with PostgreSQL's text of their expression.
//
// Model.Tenancy is tenancy; Roles and Policies are left empty (the caller takes them from the declaration).
// Tables are sorted by name, columns by attnum, and keys by name. Load runs four queries whatever the number of
// tables (one when there is none).
func Load(ctx context.Context, db Querier, tenancy schema.Tenancy) (*schema.Model, error) {
	m := &schema.Model{Tenancy: tenancy}
	byOID := map[uint32]*table{}
	var oids []uint32
	var (
		oid           uint32
		name, comment string
	)
	scans := []any{&oid, &name, &comment}
	err := forEach(ctx, db, tablesQuery, []any{ddl.Schema}, scans, func() error {
		t := &table{Table: &schema.Table{Name: name, Comment: comment, Shared: true}, cols: map[int16]string{}}
		byOID[oid] = t
		oids = append(oids, oid)
		m.Tables = append(m.Tables, t.Table)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("introspect: read tables: %w", err)
	}
	if len(oids) == 0 {
		return m, nil
	}
	if err := readColumns(ctx, db, oids, byOID, tenancy.Column); err != nil {
		return nil, err
	}
	if err := readIndexes(ctx, db, oids, byOID); err != nil {
		return nil, err
	}
	if err := readConstraints(ctx, db, oids, byOID); err != nil {
		return nil, err
	}
	slices.SortFunc(m.Tables, func(a, b *schema.Table) int { return cmp.Compare(a.Name, b.Name) })
	for _, t := range m.Tables {
		slices.SortFunc(t.Indexes, func(a, b *schema.Index) int { return cmp.Compare(a.Name, b.Name) })
		slices.SortFunc(t.ForeignKeys, func(a, b *schema.ForeignKey) int { return cmp.Compare(a.Name, b.Name) })
		slices.SortFunc(t.Checks, func(a, b *schema.Check) int { return cmp.Compare(a.Name, b.Name) })
	}
	return m, nil
}

// table is a table being read: the model's table plus what keys need to name their columns.
type table struct {
	*schema.Table
	cols   map[int16]string // attnum → name, the tenant column included
	tenant int16            // attnum of the tenant column; 0 on a shared table
}

func readColumns(ctx context.Context, db Querier, oids []uint32, byOID map[uint32]*table, tenantColumn string) error {
	var (
		oid                     uint32
		num                     int16
		name, typ, def, comment string
		notNull                 bool
	)
	scans := []any{&oid, &num, &name, &typ, &notNull, &def, &comment}
	err := forEach(ctx, db, columnsQuery, []any{oids}, scans, func() error {
		t := byOID[oid]
		t.cols[num] = name
		if name == tenantColumn {
			t.tenant = num
			t.Shared = false
			return nil
		}
		t.Columns = append(t.Columns,
			&schema.Column{Name: name, Type: typ, Null: !notNull, Default: def, Comment: comment})
		return nil
	})
	if err != nil {
		return fmt.Errorf("introspect: read columns: %w", err)
	}
	return nil
}

func readIndexes(ctx context.Context, db Querier, oids []uint32, byOID map[uint32]*table) error {
	var (
		oid   uint32
		name  string
		nkeys int16
		keys  []int16
	)
	scans := []any{&oid, &name, &nkeys, &keys}
	err := forEach(ctx, db, indexesQuery, []any{oids}, scans, func() error {
		t := byOID[oid]
		if int(nkeys) > len(keys) {
			return nil
		}
		if cols, ok := t.declared(keys[:nkeys]); ok {
			t.Indexes = append(t.Indexes, &schema.Index{Name: name, Columns: cols, Unique: true})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("introspect: read indexes: %w", err)
	}
	return nil
}

func readConstraints(ctx context.Context, db Querier, oids []uint32, byOID map[uint32]*table) error {
	var (
		oid, refOID              uint32
		name, kind, onDelete, ex string
		keys, refKeys            []int16
	)
	scans := []any{&oid, &name, &kind, &keys, &refOID, &refKeys, &onDelete, &ex}
	err := forEach(ctx, db, constraintsQuery, []any{oids}, scans, func() error {
		t := byOID[oid]
		switch kind {
		case "p":
			if cols, ok := t.declared(keys); ok {
				t.PrimaryKey = &schema.PrimaryKey{Columns: cols}
			}
		case "c":
			t.Checks = append(t.Checks, &schema.Check{Name: name, Expr: ex})
		case "f":
			if fk, ok := foreignKey(t, byOID[refOID], name, keys, refKeys, onDelete); ok {
				t.ForeignKeys = append(t.ForeignKeys, fk)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("introspect: read constraints: %w", err)
	}
	return nil
}

// declared returns the key columns keys of t as the declaration writes them: on a tenant table, without the
// leading tenant column (schema.Model.KeyColumns adds it back). ok is false when the key has no declared form:
// on a tenant table it does not lead with the tenant column, names it twice, or is the tenant column alone.
func (t *table) declared(keys []int16) (cols []string, ok bool) {
	if t.tenant != 0 {
		if len(keys) < 2 || keys[0] != t.tenant {
			return nil, false
		}
		keys = keys[1:]
	}
	cols = make([]string, len(keys))
	for i, k := range keys {
		name, found := t.cols[k]
		if !found || k == t.tenant { // attnums start at 1, so this never holds on a shared table
			return nil, false
		}
		cols[i] = name
	}
	return cols, len(cols) > 0
}

// foreignKey reads a foreign key from t to ref in the declaration's shape, the inverse of
// schema.Model.ForeignKeyColumns: between two tenant tables both sides lose their leading tenant column; otherwise
// both sides are as they are, and must not name a tenant column (the declaration cannot). ok is false when ref is
// not in the model or the key has no declared form.
func foreignKey(t, ref *table, name string, keys, refKeys []int16, onDelete string) (*schema.ForeignKey, bool) {
	if ref == nil || len(keys) != len(refKeys) {
		return nil, false
	}
	var cols, refCols []string
	var ok bool
	if t.tenant != 0 && ref.tenant != 0 {
		cols, ok = t.declared(keys)
		if ok {
			refCols, ok = ref.declared(refKeys)
		}
	} else {
		cols, ok = t.plain(keys)
		if ok {
			refCols, ok = ref.plain(refKeys)
		}
	}
	action, known := actions[onDelete]
	if !ok || !known {
		return nil, false
	}
	return &schema.ForeignKey{Name: name, Columns: cols, RefTable: ref.Name, RefColumns: refCols, OnDelete: action}, true
}

// plain names keys as they are; ok is false if one of them is the tenant column, which the declaration never names.
func (t *table) plain(keys []int16) (cols []string, ok bool) {
	cols = make([]string, len(keys))
	for i, k := range keys {
		name, found := t.cols[k]
		if !found || k == t.tenant {
			return nil, false
		}
		cols[i] = name
	}
	return cols, len(cols) > 0
}

// actions maps pg_constraint.confdeltype to the declaration's action.
var actions = map[string]schema.Action{
	"a": schema.NoAction,
	"r": schema.Restrict,
	"c": schema.Cascade,
	"n": schema.SetNull,
	"d": schema.SetDefault,
}

// forEach runs query and calls fn after scanning each row into scans.
func forEach(ctx context.Context, db Querier, query string, args, scans []any, fn func() error) error {
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	_, err = pgx.ForEachRow(rows, scans, fn)
	return err
}
