package ddl

import "pgtenant/schema"

// Stmt is one typed DDL statement of a Change: what it does, as data. Render is the only place its SQL is
// written (for the Target the migration is for), so that planning, drift and fragment checking share one
// writer and read meaning from these values, never from SQL text. A table (and an index to drop or rename, and
// the object of a GRANT, REVOKE or COMMENT) is named as SQL already, qualified and quoted (TableName, Qualified);
// every other name is plain, and Render quotes it. Declared SQL fragments (types, defaults, expressions) are kept
// as the declaration wrote them, and Render records where each lands (Fragment).
type Stmt interface{ stmt() }

// Role names a role in a statement: a role name (quoted as needed), or a keyword (PUBLIC, CURRENT_USER).
type Role struct {
	Name    string
	Keyword string
}

// Roles are the named roles, in order.
func Roles(names ...string) []Role {
	out := make([]Role, len(names))
	for i, n := range names {
		out[i] = Role{Name: n}
	}
	return out
}

// PublicRole and CurrentUser are the keyword roles.
var (
	PublicRole  = Role{Keyword: "PUBLIC"}
	CurrentUser = Role{Keyword: "CURRENT_USER"}
)

// Column is a column's definition in CREATE TABLE or ADD COLUMN. Declared marks a declared column: its type and
// default are fragments of the declaration (Render records where they land).
type Column struct {
	Name, Type string
	NotNull    bool
	Default    string
	Generated  string // a stored generation expression
	Identity   string // ALWAYS or BY DEFAULT
	Declared   bool
}

// Constraint is a named table constraint: a primary key, a foreign key, a check, or a definition as
// PostgreSQL prints it (pg_get_constraintdef).
type Constraint struct {
	Name       string
	PrimaryKey []string // columns
	ForeignKey *ForeignKey
	Check      string // a declared check expression (a fragment)
	Def        string // the definition as the catalog prints it
}

// ForeignKey is a foreign key's columns and what they reference.
type ForeignKey struct {
	Columns    []string
	RefTable   string // qualified and quoted
	RefColumns []string
	OnDelete   schema.Action
	// SetColumns are the columns ON DELETE SET NULL or SET DEFAULT sets: the declared ones, so that the tenant
	// column of a composite key is kept.
	SetColumns []string
}

// FunctionArg is an argument of CreateFunction: its name, type and default ("" for none), as declared.
type FunctionArg struct{ Name, Type, Default string }

// Privilege is one privilege in GRANT or REVOKE: a type (SELECT), on the object or on columns.
type Privilege struct {
	Type    string
	Columns []string
}

// The statements.
type (
	// CreateRole creates a declared role when it is missing and refuses one with SUPERUSER or BYPASSRLS.
	CreateRole struct{ Name string }
	// DropRole drops a role when nothing depends on it and no role is a member of it.
	DropRole struct{ Name string }
	// CreateSchema creates a schema.
	CreateSchema struct{ Name string }
	// DropSchema drops an empty schema.
	DropSchema struct{ Name string }
	// CreateTable creates a table with its columns and constraints.
	CreateTable struct {
		Table       string
		Columns     []Column
		Constraints []Constraint
	}
	// DropTable drops a table.
	DropTable struct{ Table string }
	// AddColumn adds a column.
	AddColumn struct {
		Table  string
		Column Column
	}
	// DropColumn drops a column.
	DropColumn struct{ Table, Column string }
	// AlterColumnType changes a column's type; Using casts every value (a change that can fail or lose data).
	AlterColumnType struct {
		Table, Column, Type string
		Using               bool
	}
	// SetDefault sets a column's default; "" drops it.
	SetDefault struct{ Table, Column, Default string }
	// SetNotNull sets or drops NOT NULL on a column.
	SetNotNull struct {
		Table, Column string
		NotNull       bool
	}
	// SetIdentity makes a column an identity column (Identity ALWAYS or BY DEFAULT), changes how, or drops it
	// (Identity ""); From is what the column is now.
	SetIdentity struct{ Table, Column, Identity, From string }
	// Rename renames a table (Column and Constraint ""), a column, a constraint or an index (Index).
	Rename struct {
		Table, Column, Constraint, Index string
		To                               string
	}
	// AddConstraint adds a table constraint.
	AddConstraint struct {
		Table      string
		Constraint Constraint
	}
	// DropConstraint drops a table constraint.
	DropConstraint struct{ Table, Name string }
	// CreateIndex creates an index; Declared marks Where as a fragment of the declaration.
	CreateIndex struct {
		Name, Table  string
		Columns      []string
		Unique       bool
		Concurrently bool
		Where        string
		Declared     bool
	}
	// DropIndex drops an index (qualified); Concurrently drops it without blocking writes, IfExists when missing.
	DropIndex struct {
		Name         string
		Concurrently bool
		IfExists     bool
	}
	// RowSecurity enables (On) or disables row-level security on a table; Force forces it or not instead.
	RowSecurity struct {
		Table     string
		Force, On bool
	}
	// CreatePolicy creates a policy. Declared marks Using and Check as fragments of the declaration; OneLine lays
	// it out on one line (the shared tables' read policy).
	CreatePolicy struct {
		Name, Table string
		As          schema.Kind
		For         schema.Command
		To          []Role // none: PUBLIC
		Using       string
		Check       string
		Declared    bool
		OneLine     bool
	}
	// DropPolicy drops a policy.
	DropPolicy struct{ Name, Table string }
	// Grant grants privileges on an object ("TABLE public.x", "SCHEMA pgtenant", "FUNCTION f()").
	Grant struct {
		Privileges  []Privilege
		On          string
		To          []Role
		GrantOption bool
	}
	// Revoke revokes privileges (none: ALL) on an object.
	Revoke struct {
		Privileges []Privilege
		On         string
		From       []Role
	}
	// Comment sets the comment on an object ("TABLE public.x", "COLUMN public.x.y"); Text "" removes it.
	Comment struct{ On, Text string }
	// DropTrigger drops a trigger.
	DropTrigger struct{ Name, Table string }
	// SetTrigger enables or disables a trigger: State is pg_trigger.tgenabled (O, D, R or A).
	SetTrigger struct{ Name, Table, State string }
	// DropFunction drops a function by signature.
	DropFunction struct{ Signature string }
	// CreateView creates a declared view (qualified) that runs as its caller: WITH (security_invoker = true,
	// security_barrier = true). Replace writes CREATE OR REPLACE. Query is a fragment of the declaration.
	CreateView struct {
		View, Query string
		Replace     bool
	}
	// DropView drops a view (qualified).
	DropView struct{ View string }
	// CreateFunction creates a declared function (qualified) that runs as its caller (SECURITY INVOKER) with the
	// fixed search_path FunctionSearchPath. Returns is SQL already ("void", "text", "SETOF public.x"); the
	// arguments' types and defaults and Body are fragments of the declaration. Replace writes CREATE OR REPLACE.
	CreateFunction struct {
		Function   string
		Args       []FunctionArg
		Returns    string
		Language   schema.Language
		Volatility schema.Volatility
		Body       string
		Replace    bool
	}
	// Printed is a statement as PostgreSQL printed it (pg_get_indexdef, pg_get_triggerdef,
	// pg_get_functiondef): drift recreates what the declaration's database has.
	Printed struct{ SQL string }
	// Recorded is a statement as an earlier pgtenant wrote it (schema.json's objects), to restore it.
	Recorded struct{ SQL string }
	// Note is a -- comment line for the reviewer, between statements.
	Note struct{ Text string }
	// NoOp is a statement that does nothing, for a change that needs none in the database.
	NoOp struct{ Why string }
	// Registry creates one object of pgtenant's own schema (Object: RegistryTenants, …), whose SQL the writer
	// holds as text; CurrentTenant is the tenant expression the audit log's tenant_id defaults to, Setting the
	// tenant setting pgtenant.set_tenant sets; Citus asks for the Citus profile's variant of the object (the
	// audit log without its reference to the registry, token_tenants without its inline foreign keys).
	Registry struct {
		Object, CurrentTenant, Setting string
		Citus                          bool
	}
	// Distribute makes a tenant table a Citus distributed table, sharded by Column and co-located with
	// ColocateWith (qualified and quoted, like Table); "" makes it the anchor of a new co-location group. Citus
	// only.
	Distribute struct{ Table, Column, ColocateWith string }
	// ReferenceTable makes a table a Citus reference table: one shard, copied to every node. Citus only.
	ReferenceTable struct{ Table string }
	// RoleSetting sets a role's default for a setting (ALTER ROLE … SET); an empty Value resets it.
	RoleSetting struct{ Role, Setting, Value string }
	// RoleLogin lets a role log in, or stops it (ALTER ROLE … LOGIN / NOLOGIN).
	RoleLogin struct {
		Role  string
		Login bool
	}
)

func (CreateRole) stmt()      {}
func (DropRole) stmt()        {}
func (CreateSchema) stmt()    {}
func (DropSchema) stmt()      {}
func (CreateTable) stmt()     {}
func (DropTable) stmt()       {}
func (AddColumn) stmt()       {}
func (DropColumn) stmt()      {}
func (AlterColumnType) stmt() {}
func (SetDefault) stmt()      {}
func (SetNotNull) stmt()      {}
func (SetIdentity) stmt()     {}
func (Rename) stmt()          {}
func (AddConstraint) stmt()   {}
func (DropConstraint) stmt()  {}
func (CreateIndex) stmt()     {}
func (DropIndex) stmt()       {}
func (RowSecurity) stmt()     {}
func (CreatePolicy) stmt()    {}
func (DropPolicy) stmt()      {}
func (Grant) stmt()           {}
func (Revoke) stmt()          {}
func (Comment) stmt()         {}
func (DropTrigger) stmt()     {}
func (SetTrigger) stmt()      {}
func (DropFunction) stmt()    {}
func (CreateView) stmt()      {}
func (DropView) stmt()        {}
func (CreateFunction) stmt()  {}
func (Printed) stmt()         {}
func (Recorded) stmt()        {}
func (Note) stmt()            {}
func (NoOp) stmt()            {}
func (Registry) stmt()        {}
func (Distribute) stmt()      {}
func (ReferenceTable) stmt()  {}
func (RoleSetting) stmt()     {}
func (RoleLogin) stmt()       {}

// EnableRowSecurity enables and forces row-level security on table: FORCE makes its owner subject to the
// policies too.
func EnableRowSecurity(table string) []Stmt {
	return []Stmt{RowSecurity{Table: table, On: true}, RowSecurity{Table: table, Force: true, On: true}}
}

// DisableRowSecurity turns row-level security off on table: NO FORCE, then DISABLE. With it off, every role
// with a privilege on the table sees and changes every tenant's rows. It exists for emergencies (`pgtenant rls
// disable`); EnableRowSecurity undoes it.
func DisableRowSecurity(table string) []Stmt {
	return []Stmt{RowSecurity{Table: table, Force: true}, RowSecurity{Table: table}}
}

// PolicyStmt is the statement that creates p (a declared or generated policy) on table.
func PolicyStmt(p *schema.Policy, table string) CreatePolicy {
	return CreatePolicy{Name: p.Name, Table: table, As: p.As, For: p.For, To: Roles(p.To...), Using: p.Using,
		Check: p.Check}
}
