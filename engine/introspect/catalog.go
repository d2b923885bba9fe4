package introspect

import (
	"cmp"
	"slices"
)

// Catalog is what Read finds in the live database: the user's schemas (every schema but pg_catalog, pg_toast,
// the other pg_* schemas and information_schema) and their tables, with everything the migrations can attach to
// a table, the functions, and the connected role. Names are unquoted. Definitions (defaults, constraints,
// indexes, policies, triggers, functions) are PostgreSQL's own printing with search_path set to pg_catalog alone:
// every name outside pg_catalog is schema-qualified, whatever the connection's search_path, so every definition
// read is SQL that runs anywhere.
type Catalog struct {
	Role Role
	// CurrentSchema is the connection's current_schema(): the first schema of its own search_path that exists,
	// where it creates what it does not qualify; "" for none.
	CurrentSchema string
	Schemas       []*Schema   // sorted by name; public included
	Tables        []*Table    // ordinary and partitioned tables, sorted by schema and name
	Relations     []*Relation // the other relations (sequences, views, …), sorted by schema and name
	Functions     []*Function // functions, procedures and aggregates, sorted by signature
}

// Role is the connected role (current_user) and what it can act as.
type Role struct {
	Name      string
	Super     bool // rolsuper
	BypassRLS bool // rolbypassrls
	// MemberOf lists the role itself (Via "") and every role it is a member of, directly or through other roles,
	// each with Via: the role granted to it that the membership goes through. A role reached through two grants
	// is listed once per grant. Sorted by name, then Via.
	MemberOf []Membership
}

// Membership is one role the connected role is, or can act as, through the role Via ("" for itself).
type Membership struct {
	Name      string
	Via       string
	Super     bool
	BypassRLS bool
}

// Schema is a schema.
type Schema struct {
	Name       string
	Owner      string
	Comment    string
	Extension  bool        // created by an extension
	Privileges []Privilege // sorted; the owner's own are left out
}

// Table is an ordinary or partitioned table.
type Table struct {
	OID              uint32
	Schema, Name     string
	Partitioned      bool   // relkind p
	Partition        bool   // a partition of another table
	Extension        bool   // belongs to an extension
	Owner            string // the owning role
	RowSecurity      bool   // ENABLE ROW LEVEL SECURITY
	ForceRowSecurity bool   // FORCE ROW LEVEL SECURITY
	// Reachable is true when the connected role, or a role it is a member of (even one it can only use through
	// SET ROLE), holds any privilege on the table or on one of its columns: what the API can serve.
	Reachable   bool
	Comment     string
	Columns     []*Column     // in attnum order
	Constraints []*Constraint // sorted by name
	Indexes     []*Index      // sorted by name, those of constraints included
	Policies    []*Policy     // sorted by name
	Triggers    []*Trigger    // sorted by name; internal triggers (those of foreign keys) are left out
	Rules       []*Rule       // sorted by name
	Calls       []Call        // the functions what the table carries calls, sorted
	Privileges  []Privilege   // on the table and on its columns, sorted; the owner's own are left out
}

// Column is a table column.
type Column struct {
	Position  int    // attnum, the order of CREATE TABLE
	Name      string // attname
	Type      string // format_type
	NotNull   bool
	Default   string // the default expression; "" for none
	Identity  string // "ALWAYS" or "BY DEFAULT" for an identity column, else ""
	Sequence  string // an identity column's sequence, schema-qualified; else ""
	Generated string // the expression of a stored generated column, else ""
	Comment   string
}

// Constraint is a table constraint (NOT NULL is a column's).
type Constraint struct {
	Name string
	Kind string // pg_constraint.contype: p (primary key), u (unique), f (foreign key), c (check), x (exclusion), t (trigger)
	Def  string // pg_get_constraintdef
	Expr string // a check constraint's expression; else ""
	// Keys are the constrained columns' attnums and Columns their names, in the constraint's order.
	Keys    []int16
	Columns []string
	// Index names the index the constraint uses: its own for a primary key, unique or exclusion constraint, the
	// referenced key's for a foreign key.
	Index string
	// A foreign key's referenced table (RefSchema "" for none), its columns (attnums and names, paired with
	// Columns), and its ON DELETE action: pg_constraint.confdeltype, a (no action), r, c, n or d.
	RefSchema, RefTable string
	RefKeys             []int16
	RefColumns          []string
	OnDelete            string
}

// Index is an index of a table.
type Index struct {
	Name        string
	Def         string // pg_get_indexdef: the CREATE INDEX statement
	Valid       bool   // false after a failed CREATE INDEX CONCURRENTLY
	Unique      bool
	Primary     bool
	Keys        []int16 // the key columns' attnums (0 for an expression), INCLUDE columns left out
	Partial     bool    // has a WHERE clause
	Expressions bool    // has an expression among its columns
	Constraint  string  // the primary key, unique or exclusion constraint that owns it, else ""
}

// Policy is a row-level security policy, as pg_policies shows it.
type Policy struct {
	Name       string
	Permissive bool     // PERMISSIVE, else RESTRICTIVE
	Command    string   // ALL, SELECT, INSERT, UPDATE or DELETE
	Roles      []string // sorted by name; "public" for PUBLIC
	Using      string   // USING; "" for none
	Check      string   // WITH CHECK; "" for none
}

// Trigger is a user trigger.
type Trigger struct {
	Name     string
	Def      string // pg_get_triggerdef: the CREATE TRIGGER statement
	Enabled  string // pg_trigger.tgenabled: O (enabled), D (disabled), R (replica) or A (always)
	Function string // the function it executes: schema.name(argument types)
}

// Rule is a rewrite rule of a table.
type Rule struct {
	Name string
	Def  string // pg_get_ruledef: the CREATE RULE statement
}

// Call is a function that something a table carries calls: PostgreSQL records a dependency on every function a
// default, a constraint, a policy, a trigger, a rule or an index calls. Functions of pg_catalog and
// information_schema and those of extensions are left out.
type Call struct {
	What      string // "the default of column x", "constraint c", "policy p", "trigger t", "rule r", "index i"
	Function  string // schema.name
	Signature string // schema.name(argument types)
}

// Relation is a relation other than a table: a sequence, a view, a materialized view, a foreign table or a
// composite type.
type Relation struct {
	Schema, Name string
	Kind         string // pg_class.relkind
	Owner        string
	Extension    bool
	// Reachable is true when the connected role, or a role it is a member of, holds any privilege on the relation
	// or one of its columns (as Table.Reachable).
	Reachable  bool
	Privileges []Privilege // sorted; the owner's own are left out
	// Def is a view's or materialized view's query (pg_get_viewdef, names qualified); "" for other kinds.
	Def string
	// Options are the relation's reloptions as PostgreSQL prints them ("security_invoker=true"), in its order.
	Options        []string
	Comment        string
	ColumnComments map[string]string // the comments of its columns, by column name; columns without one are left out
	Columns        []*Column         // a view's columns, in attnum order (Type and Comment only); nil for other kinds
	Reads          []ColumnRef       // the table columns a view's query reads (its rule's dependencies), sorted
}

// Function is a function, procedure or aggregate.
type Function struct {
	Signature string // regprocedure: the qualified name and argument types, "pgtenant.lookup_token(bytea)"
	Schema    string
	Name      string
	Kind      string // pg_proc.prokind: f, p, a or w
	Def       string // pg_get_functiondef: the CREATE OR REPLACE statement; "" for an aggregate
	Comment   string
	Extension bool  // belongs to an extension
	Args      []Arg // every argument, in order
	// Returns is the return type (format_type); ReturnsSet is RETURNS SETOF; ReturnsSchema and ReturnsRelation
	// name the table or view whose row type it returns ("" when it is not a relation's row type).
	Returns                        string
	ReturnsSet                     bool
	ReturnsSchema, ReturnsRelation string
	Volatility                     string      // pg_proc.provolatile: i (immutable), s (stable) or v (volatile)
	Privileges                     []Privilege // sorted; the owner's own are left out
}

// ColumnRef names a column of a relation.
type ColumnRef struct {
	Schema, Table, Column string
}

// Arg is an argument of a function.
type Arg struct {
	Name    string // "" for an unnamed argument
	Type    string // format_type
	Mode    string // pg_proc.proargmodes: i (IN), o, b (INOUT), v (VARIADIC) or t (TABLE)
	Default string // pg_get_function_arg_default: the default expression; "" for none
}

// Privilege is one privilege of one grantee on an object, or on one of a table's columns (aclexplode's items).
type Privilege struct {
	Column    string // "" for the object itself
	Grantee   string // a role name, or Public
	Type      string // SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, EXECUTE, USAGE or CREATE
	Grantable bool   // WITH GRANT OPTION
}

// Public is the grantee name of a privilege granted to PUBLIC.
const Public = "PUBLIC"

// Table returns the table schemaName.name, or nil.
func (c *Catalog) Table(schemaName, name string) *Table {
	i, found := slices.BinarySearchFunc(c.Tables, [2]string{schemaName, name}, func(t *Table, k [2]string) int {
		return cmp.Or(cmp.Compare(t.Schema, k[0]), cmp.Compare(t.Name, k[1]))
	})
	if !found {
		return nil
	}
	return c.Tables[i]
}

// Column returns the column named name, or nil.
func (t *Table) Column(name string) *Column {
	for _, c := range t.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ColumnNum returns the column numbered num (attnum), or nil.
func (t *Table) ColumnNum(num int16) *Column {
	for _, c := range t.Columns {
		if c.Position == int(num) {
			return c
		}
	}
	return nil
}
