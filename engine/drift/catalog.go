package drift

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/ddl"
)

// Owner stands for a table's owner among a policy's roles. The migration's `TO CURRENT_USER` names the role that
// applied it, which is a different role in each database.
const Owner = "(owner)"

// Public is the grantee name of a privilege granted to PUBLIC, and the role name pg_policies gives PUBLIC.
const Public = "PUBLIC"

// Catalog is what the migrations make of a database: the objects of the schemas public and pgtenant, keyed by
// name so that two catalogs compare object by object.
type Catalog struct {
	Schemas   map[string]*Schema   // by name; schema public itself is not read, only its objects
	Tables    map[string]*Table    // by qualified name, "public.content_tag"
	Functions map[string]*Function // by signature, "pgtenant.lookup_token(bytea)"
	Views     map[string]*View     // by qualified name, "public.published_pages" (views.go)
}

// Schema is a schema other than public.
type Schema struct {
	Name       string
	Comment    string
	Privileges []Privilege // sorted; the owner's own are left out
}

// Table is an ordinary or partitioned table.
type Table struct {
	Schema, Name     string
	Owner            string // the owning role; not compared
	RowSecurity      bool   // ENABLE ROW LEVEL SECURITY
	ForceRowSecurity bool   // FORCE ROW LEVEL SECURITY
	Comment          string
	Columns          map[string]*Column     // by name
	Constraints      map[string]*Constraint // by name
	Indexes          map[string]*Index      // by name; the indexes of primary key, unique and exclusion constraints are the constraints'
	Policies         map[string]*Policy     // by name
	Triggers         map[string]*Trigger    // by name; internal triggers (those of foreign keys) are left out
	Privileges       []Privilege            // on the table and on its columns, sorted; the owner's own are left out
}

// Column is a table column.
type Column struct {
	Name      string
	Position  int    // attnum, the order of CREATE TABLE; not compared
	Type      string // format_type
	NotNull   bool
	Default   string // pg_get_expr of the default; "" for none
	Identity  string // "ALWAYS" or "BY DEFAULT" for an identity column, else ""
	Generated string // the expression of a stored generated column, else ""
	Comment   string
}

// Constraint is a table constraint (NOT NULL is a column's).
type Constraint struct {
	Name string
	Kind string // pg_constraint.contype: p (primary key), u (unique), f (foreign key), c (check), x (exclusion), t (trigger)
	Def  string // pg_get_constraintdef
}

// Index is an index that no constraint owns.
type Index struct {
	Name  string
	Def   string // pg_get_indexdef: the CREATE INDEX statement
	Valid bool   // false after a failed CREATE INDEX CONCURRENTLY
}

// Policy is a row-level security policy, as pg_policies shows it.
type Policy struct {
	Name       string
	Permissive bool     // PERMISSIVE, else RESTRICTIVE
	Command    string   // ALL, SELECT, INSERT, UPDATE or DELETE
	Roles      []string // sorted; "public" for PUBLIC and Owner for the table's owner
	Using      string   // pg_get_expr of USING; "" for none
	Check      string   // pg_get_expr of WITH CHECK; "" for none
}

// Trigger is a user trigger.
type Trigger struct {
	Name    string
	Def     string // pg_get_triggerdef: the CREATE TRIGGER statement
	Enabled string // pg_trigger.tgenabled: O (enabled), D (disabled), R (replica) or A (always)
}

// Function is a function or procedure.
type Function struct {
	Signature  string // regprocedure: the qualified name and argument types, "pgtenant.lookup_token(bytea)"
	Schema     string
	Name       string
	Def        string // pg_get_functiondef: the CREATE OR REPLACE statement
	Comment    string
	Privileges []Privilege // sorted; the owner's own are left out
}

// Privilege is one privilege of one grantee on an object, or on one of a table's columns (aclexplode's items).
type Privilege struct {
	Column    string // "" for the object itself
	Grantee   string // a role name, or Public
	Type      string // SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, EXECUTE, USAGE or CREATE
	Grantable bool   // WITH GRANT OPTION
}

// DB is what Read reads through: a *pgx.Conn, a *pgxpool.Pool or a pgx.Tx (Read then uses a savepoint).
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Schemas are the schemas Read reads: the ones the migrations create objects in.
var Schemas = []string{ddl.Schema, ddl.RegistrySchema}

// tablesCTE lists the tables Read reads: ordinary and partitioned tables of $1, without golang-migrate's
// schema_migrations and what an extension created.
const tablesCTE = `WITH t AS (
    SELECT c.oid, n.nspname, c.relname, c.relowner, c.relacl, c.relrowsecurity, c.relforcerowsecurity
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ANY ($1::text[]) AND c.relkind IN ('r', 'p')
       AND NOT (n.nspname = 'public' AND c.relname = 'schema_migrations')
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                                  AND d.deptype = 'e')
)
`

// grantee names aclexplode's grantee: 0 is PUBLIC.
const grantee = `CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END`

const tablesQuery = tablesCTE + `
SELECT t.nspname, t.relname, pg_get_userbyid(t.relowner)::text, t.relrowsecurity, t.relforcerowsecurity,
       COALESCE(obj_description(t.oid, 'pg_class'), '')
  FROM t`

const columnsQuery = tablesCTE + `
SELECT t.nspname, t.relname, a.attname::text, a.attnum::int, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       CASE WHEN a.attgenerated = '' THEN COALESCE(pg_get_expr(d.adbin, d.adrelid), '') ELSE '' END,
       CASE a.attidentity WHEN 'a' THEN 'ALWAYS' WHEN 'd' THEN 'BY DEFAULT' ELSE '' END,
       CASE WHEN a.attgenerated <> '' THEN COALESCE(pg_get_expr(d.adbin, d.adrelid), '') ELSE '' END,
       COALESCE(col_description(t.oid, a.attnum), '')
  FROM t JOIN pg_attribute a ON a.attrelid = t.oid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped`

const constraintsQuery = tablesCTE + `
SELECT t.nspname, t.relname, c.conname::text, c.contype::text, pg_get_constraintdef(c.oid)
  FROM t JOIN pg_constraint c ON c.conrelid = t.oid`

const indexesQuery = tablesCTE + `
SELECT t.nspname, t.relname, ic.relname::text, pg_get_indexdef(i.indexrelid), i.indisvalid
  FROM t JOIN pg_index i ON i.indrelid = t.oid JOIN pg_class ic ON ic.oid = i.indexrelid
 WHERE NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conrelid = t.oid AND c.conindid = i.indexrelid
                                                  AND c.contype IN ('p', 'u', 'x'))`

const policiesQuery = tablesCTE + `
SELECT t.nspname, t.relname, p.policyname::text, p.permissive = 'PERMISSIVE', p.cmd, p.roles::text[],
       COALESCE(p.qual, ''), COALESCE(p.with_check, '')
  FROM t JOIN pg_policies p ON p.schemaname = t.nspname AND p.tablename = t.relname`

const triggersQuery = tablesCTE + `
SELECT t.nspname, t.relname, g.tgname::text, pg_get_triggerdef(g.oid), g.tgenabled::text
  FROM t JOIN pg_trigger g ON g.tgrelid = t.oid
 WHERE NOT g.tgisinternal`

// tablePrivilegesQuery explodes the table's ACL (NULL is the default: the owner's privileges only) and its
// columns' (NULL is none), leaving out the owner's.
const tablePrivilegesQuery = tablesCTE + `
SELECT t.nspname, t.relname, '', ` + grantee + `, a.privilege_type, a.is_grantable
  FROM t, aclexplode(COALESCE(t.relacl, acldefault('r', t.relowner))) a
 WHERE a.grantee <> t.relowner
UNION ALL
SELECT t.nspname, t.relname, c.attname::text, ` + grantee + `, a.privilege_type, a.is_grantable
  FROM t JOIN pg_attribute c ON c.attrelid = t.oid AND c.attnum > 0 AND NOT c.attisdropped,
       aclexplode(c.attacl) a
 WHERE a.grantee <> t.relowner`

const schemasQuery = `
SELECT n.nspname::text, COALESCE(obj_description(n.oid, 'pg_namespace'), '')
  FROM pg_namespace n
 WHERE n.nspname = ANY ($1::text[]) AND n.nspname <> 'public'`

const schemaPrivilegesQuery = `
SELECT n.nspname::text, ` + grantee + `, a.privilege_type, a.is_grantable
  FROM pg_namespace n, aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a
 WHERE n.nspname = ANY ($1::text[]) AND n.nspname <> 'public' AND a.grantee <> n.nspowner`

// functionsCTE lists the functions and procedures of $1 (aggregates have no pg_get_functiondef), without those
// of extensions.
const functionsCTE = `WITH f AS (
    SELECT p.oid, n.nspname, p.proname, p.proowner, p.proacl
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = ANY ($1::text[]) AND p.prokind <> 'a'
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                                  AND d.deptype = 'e')
)
`

const functionsQuery = functionsCTE + `
SELECT f.oid::regprocedure::text, f.nspname::text, f.proname::text, pg_get_functiondef(f.oid),
       COALESCE(obj_description(f.oid, 'pg_proc'), '')
  FROM f`

// functionPrivilegesQuery explodes the function's ACL; NULL is the default, which lets PUBLIC execute it.
const functionPrivilegesQuery = functionsCTE + `
SELECT f.oid::regprocedure::text, ` + grantee + `, a.privilege_type, a.is_grantable
  FROM f, aclexplode(COALESCE(f.proacl, acldefault('f', f.proowner))) a
 WHERE a.grantee <> f.proowner`

// Read reads the catalog of the database db is connected to: the objects of the schemas in Schemas.
//
// It reads in a transaction of its own (a savepoint when db is a pgx.Tx), read-only and, when it can start one,
// REPEATABLE READ, so that every query sees one snapshot; with search_path set to pg_catalog alone, so that
// PostgreSQL prints every name outside pg_catalog schema-qualified, the same way whatever the connection's
// search_path, and every definition read is SQL that runs anywhere.
func Read(ctx context.Context, db DB) (*Catalog, error) {
	var tx pgx.Tx
	var err error
	if b, ok := db.(interface {
		BeginTx(context.Context, pgx.TxOptions) (pgx.Tx, error)
	}); ok {
		tx, err = b.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	} else {
		tx, err = db.Begin(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("drift: read the catalog: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SET LOCAL search_path TO pg_catalog"); err != nil {
		return nil, fmt.Errorf("drift: read the catalog: %w", err)
	}
	r := &reader{ctx: ctx, tx: tx, c: &Catalog{
		Schemas: map[string]*Schema{}, Tables: map[string]*Table{}, Functions: map[string]*Function{},
		Views: map[string]*View{},
	}}
	for _, step := range []struct {
		what string
		read func() error
	}{
		{"tables", r.tables}, {"columns", r.columns}, {"constraints", r.constraints}, {"indexes", r.indexes},
		{"policies", r.policies}, {"triggers", r.triggers}, {"table privileges", r.tablePrivileges},
		{"schemas", r.schemas}, {"functions", r.functions}, {"views", r.views},
	} {
		if err := step.read(); err != nil {
			return nil, fmt.Errorf("drift: read %s: %w", step.what, err)
		}
	}
	for _, t := range r.c.Tables {
		sortPrivileges(t.Privileges)
	}
	for _, s := range r.c.Schemas {
		sortPrivileges(s.Privileges)
	}
	for _, f := range r.c.Functions {
		sortPrivileges(f.Privileges)
	}
	for _, v := range r.c.Views {
		sortPrivileges(v.Privileges)
	}
	return r.c, nil
}

// reader runs Read's queries in one transaction.
type reader struct {
	ctx context.Context
	tx  pgx.Tx
	c   *Catalog
}

// each runs query with the schemas as $1 and calls fn for every row, scanned into dest.
func (r *reader) each(query string, dest []any, fn func()) error {
	rows, err := r.tx.Query(r.ctx, query, Schemas)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		fn()
	}
	return rows.Err()
}

// table returns the table of a row; the tables query ran first and read every table the others join.
func (r *reader) table(schemaName, name string) *Table {
	key := schemaName + "." + name
	t := r.c.Tables[key]
	if t == nil { // created between two queries of a READ COMMITTED read
		t = newTable(schemaName, name)
		r.c.Tables[key] = t
	}
	return t
}

func newTable(schemaName, name string) *Table {
	return &Table{Schema: schemaName, Name: name, Columns: map[string]*Column{},
		Constraints: map[string]*Constraint{}, Indexes: map[string]*Index{}, Policies: map[string]*Policy{},
		Triggers: map[string]*Trigger{}}
}

func (r *reader) tables() error {
	var s, n, owner, comment string
	var rls, force bool
	return r.each(tablesQuery, []any{&s, &n, &owner, &rls, &force, &comment}, func() {
		t := r.table(s, n)
		t.Owner, t.RowSecurity, t.ForceRowSecurity, t.Comment = owner, rls, force, comment
	})
}

func (r *reader) columns() error {
	var s, n string
	var c Column
	return r.each(columnsQuery, []any{&s, &n, &c.Name, &c.Position, &c.Type, &c.NotNull, &c.Default, &c.Identity,
		&c.Generated, &c.Comment}, func() {
		col := c
		r.table(s, n).Columns[c.Name] = &col
	})
}

func (r *reader) constraints() error {
	var s, n string
	var c Constraint
	return r.each(constraintsQuery, []any{&s, &n, &c.Name, &c.Kind, &c.Def}, func() {
		con := c
		r.table(s, n).Constraints[c.Name] = &con
	})
}

func (r *reader) indexes() error {
	var s, n string
	var i Index
	return r.each(indexesQuery, []any{&s, &n, &i.Name, &i.Def, &i.Valid}, func() {
		ix := i
		r.table(s, n).Indexes[i.Name] = &ix
	})
}

func (r *reader) policies() error {
	var s, n string
	var p Policy
	return r.each(policiesQuery, []any{&s, &n, &p.Name, &p.Permissive, &p.Command, &p.Roles, &p.Using, &p.Check},
		func() {
			t := r.table(s, n)
			pol := p
			pol.Roles = make([]string, len(p.Roles))
			for i, role := range p.Roles {
				if role == t.Owner {
					role = Owner
				}
				pol.Roles[i] = role
			}
			slices.Sort(pol.Roles)
			t.Policies[p.Name] = &pol
		})
}

func (r *reader) triggers() error {
	var s, n string
	var g Trigger
	return r.each(triggersQuery, []any{&s, &n, &g.Name, &g.Def, &g.Enabled}, func() {
		tg := g
		r.table(s, n).Triggers[g.Name] = &tg
	})
}

func (r *reader) tablePrivileges() error {
	var s, n string
	var p Privilege
	return r.each(tablePrivilegesQuery, []any{&s, &n, &p.Column, &p.Grantee, &p.Type, &p.Grantable}, func() {
		t := r.table(s, n)
		t.Privileges = append(t.Privileges, p)
	})
}

func (r *reader) schemas() error {
	var s Schema
	if err := r.each(schemasQuery, []any{&s.Name, &s.Comment}, func() {
		sc := s
		r.c.Schemas[s.Name] = &sc
	}); err != nil {
		return err
	}
	var name string
	var p Privilege
	return r.each(schemaPrivilegesQuery, []any{&name, &p.Grantee, &p.Type, &p.Grantable}, func() {
		if sc := r.c.Schemas[name]; sc != nil {
			sc.Privileges = append(sc.Privileges, p)
		}
	})
}

func (r *reader) functions() error {
	var f Function
	if err := r.each(functionsQuery, []any{&f.Signature, &f.Schema, &f.Name, &f.Def, &f.Comment}, func() {
		fn := f
		r.c.Functions[f.Signature] = &fn
	}); err != nil {
		return err
	}
	var sig string
	var p Privilege
	return r.each(functionPrivilegesQuery, []any{&sig, &p.Grantee, &p.Type, &p.Grantable}, func() {
		if fn := r.c.Functions[sig]; fn != nil {
			fn.Privileges = append(fn.Privileges, p)
		}
	})
}

func sortPrivileges(ps []Privilege) {
	slices.SortFunc(ps, func(a, b Privilege) int {
		return cmp.Or(cmp.Compare(a.Grantee, b.Grantee), cmp.Compare(a.Column, b.Column),
			cmp.Compare(privilegeRank(a.Type), privilegeRank(b.Type)), cmp.Compare(a.Type, b.Type),
			boolCompare(a.Grantable, b.Grantable))
	})
}

// privilegeOrder is the order GRANT statements list privileges in, as PostgreSQL's documentation does.
var privilegeOrder = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER",
	"USAGE", "CREATE", "EXECUTE"}

func privilegeRank(p string) int {
	if i := slices.Index(privilegeOrder, p); i >= 0 {
		return i
	}
	return len(privilegeOrder)
}

func boolCompare(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	default:
		return 1
	}
}
