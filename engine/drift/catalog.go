package drift

import (
	"context"
	"fmt"
	"slices"

	"pgtenant/engine/ddl"
	"pgtenant/engine/introspect"
)

// Owner stands for a table's owner among a policy's roles. The migration's `TO CURRENT_USER` names the role that
// applied it, which is a different role in each database.
const Owner = "(owner)"

// Public is the grantee name of a privilege granted to PUBLIC, and the role name pg_policies gives PUBLIC.
const Public = introspect.Public

// Catalog is what the migrations make of a database: the objects of the schemas public and pgtenant, keyed by
// name so that two catalogs compare object by object.
type Catalog struct {
	Schemas   map[string]*Schema   // by name; schema public itself is not read, only its objects
	Tables    map[string]*Table    // by qualified name, "public.content_tag"
	Functions map[string]*Function // by signature, "pgtenant.lookup_token(bytea)"
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
type Privilege = introspect.Privilege

// DB is what Read reads through: a *pgx.Conn, a *pgxpool.Pool or a pgx.Tx (Read then uses a savepoint).
type DB = introspect.Querier

// Schemas are the schemas Read reads: the ones the migrations create objects in.
var Schemas = []string{ddl.Schema, ddl.RegistrySchema}

// Read reads the catalog of the database db is connected to (introspect.Read, one round trip): the objects of the
// schemas in Schemas, without golang-migrate's schema_migrations table and what an extension created.
//
// introspect.Read reads from one snapshot, with search_path set to pg_catalog alone, so that PostgreSQL prints
// every name outside pg_catalog schema-qualified, the same way whatever the connection's search_path, and every
// definition read is SQL that runs anywhere.
func Read(ctx context.Context, db DB) (*Catalog, error) {
	live, err := introspect.Read(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("drift: %w", err)
	}
	return fromCatalog(live), nil
}

// fromCatalog keeps what Read reads of the live catalog, keyed by name.
func fromCatalog(live *introspect.Catalog) *Catalog {
	c := &Catalog{Schemas: map[string]*Schema{}, Tables: map[string]*Table{}, Functions: map[string]*Function{}}
	for _, s := range live.Schemas {
		if s.Name != ddl.Schema && slices.Contains(Schemas, s.Name) {
			c.Schemas[s.Name] = &Schema{Name: s.Name, Comment: s.Comment, Privileges: s.Privileges}
		}
	}
	for _, lt := range live.Tables {
		if !slices.Contains(Schemas, lt.Schema) || lt.Extension ||
			(lt.Schema == ddl.Schema && lt.Name == "schema_migrations") {
			continue
		}
		t := fromTable(lt)
		c.Tables[lt.Schema+"."+lt.Name] = t
	}
	for _, f := range live.Functions {
		if !slices.Contains(Schemas, f.Schema) || f.Extension || f.Kind == "a" {
			continue
		}
		c.Functions[f.Signature] = &Function{Signature: f.Signature, Schema: f.Schema, Name: f.Name, Def: f.Def,
			Comment: f.Comment, Privileges: f.Privileges}
	}
	return c
}

func fromTable(lt *introspect.Table) *Table {
	t := &Table{Schema: lt.Schema, Name: lt.Name, Owner: lt.Owner, RowSecurity: lt.RowSecurity,
		ForceRowSecurity: lt.ForceRowSecurity, Comment: lt.Comment, Columns: map[string]*Column{},
		Constraints: map[string]*Constraint{}, Indexes: map[string]*Index{}, Policies: map[string]*Policy{},
		Triggers: map[string]*Trigger{}, Privileges: lt.Privileges}
	for _, c := range lt.Columns {
		t.Columns[c.Name] = &Column{Name: c.Name, Position: int(c.Num), Type: c.Type, NotNull: c.NotNull,
			Default: c.Default, Identity: c.Identity, Generated: c.Generated, Comment: c.Comment}
	}
	for _, k := range lt.Constraints {
		t.Constraints[k.Name] = &Constraint{Name: k.Name, Kind: k.Kind, Def: k.Def}
	}
	for _, ix := range lt.Indexes {
		if ix.Constraint == "" {
			t.Indexes[ix.Name] = &Index{Name: ix.Name, Def: ix.Def, Valid: ix.Valid}
		}
	}
	for _, p := range lt.Policies {
		roles := make([]string, len(p.Roles))
		for i, role := range p.Roles {
			if role == t.Owner {
				role = Owner
			}
			roles[i] = role
		}
		slices.Sort(roles)
		t.Policies[p.Name] = &Policy{Name: p.Name, Permissive: p.Permissive, Command: p.Command, Roles: roles,
			Using: p.Using, Check: p.Check}
	}
	for _, g := range lt.Triggers {
		t.Triggers[g.Name] = &Trigger{Name: g.Name, Def: g.Def, Enabled: g.Enabled}
	}
	return t
}

func sortPrivileges(ps []Privilege) { introspect.SortPrivileges(ps) }

func privilegeRank(p string) int { return introspect.PrivilegeRank(p) }
