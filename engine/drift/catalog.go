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
	Views     map[string]*View     // by qualified name, "public.published_pages" (views.go)
}

// Schema is a schema other than public.
type Schema = introspect.Schema

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
type Column = introspect.Column

// Constraint is a table constraint (NOT NULL is a column's).
type Constraint = introspect.Constraint

// Index is an index that no constraint owns.
type Index = introspect.Index

// Policy is a row-level security policy, as pg_policies shows it, with Owner for the table's owner among its
// roles.
type Policy = introspect.Policy

// Trigger is a user trigger.
type Trigger = introspect.Trigger

// Function is a function or procedure.
type Function = introspect.Function

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
	c := &Catalog{Schemas: map[string]*Schema{}, Tables: map[string]*Table{}, Functions: map[string]*Function{},
		Views: map[string]*View{}}
	for _, rel := range live.Relations {
		if rel.Kind == "v" && !rel.Extension && slices.Contains(Schemas, rel.Schema) {
			c.Views[rel.Schema+"."+rel.Name] = fromView(rel)
		}
	}
	for _, s := range live.Schemas {
		if s.Name != ddl.Schema && slices.Contains(Schemas, s.Name) {
			c.Schemas[s.Name] = s
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
		c.Functions[f.Signature] = f
	}
	return c
}

func fromTable(lt *introspect.Table) *Table {
	t := &Table{Schema: lt.Schema, Name: lt.Name, Owner: lt.Owner, RowSecurity: lt.RowSecurity,
		ForceRowSecurity: lt.ForceRowSecurity, Comment: lt.Comment, Columns: map[string]*Column{},
		Constraints: map[string]*Constraint{}, Indexes: map[string]*Index{}, Policies: map[string]*Policy{},
		Triggers: map[string]*Trigger{}, Privileges: lt.Privileges}
	for _, c := range lt.Columns {
		t.Columns[c.Name] = c
	}
	for _, k := range lt.Constraints {
		t.Constraints[k.Name] = k
	}
	for _, ix := range lt.Indexes {
		if ix.Constraint == "" {
			t.Indexes[ix.Name] = ix
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
		pol := *p
		pol.Roles = roles
		t.Policies[p.Name] = &pol
	}
	for _, g := range lt.Triggers {
		t.Triggers[g.Name] = g
	}
	return t
}

func sortPrivileges(ps []Privilege) { introspect.SortPrivileges(ps) }

func privilegeRank(p string) int { return introspect.PrivilegeRank(p) }
