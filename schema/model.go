package schema

import (
	"slices"

	"github.com/hashicorp/hcl/v2"
)

// Privilege is a table privilege a role may hold.
type Privilege string

// The privileges a role block may list.
const (
	Select Privilege = "SELECT"
	Insert Privilege = "INSERT"
	Update Privilege = "UPDATE"
	Delete Privilege = "DELETE"
)

// Privileges lists every privilege in the order GRANT statements name them.
var Privileges = []Privilege{Select, Insert, Update, Delete}

// Action is what a foreign key does when the referenced row is deleted.
type Action string

// The referential actions a foreign key may declare.
const (
	NoAction   Action = "NO_ACTION"
	Restrict   Action = "RESTRICT"
	Cascade    Action = "CASCADE"
	SetNull    Action = "SET_NULL"
	SetDefault Action = "SET_DEFAULT"
)

// Actions lists every referential action.
var Actions = []Action{NoAction, Restrict, Cascade, SetNull, SetDefault}

// Command is the SQL command a policy applies to.
type Command string

// The commands a policy may apply to.
const (
	All        Command = "ALL"
	SelectRows Command = "SELECT"
	InsertRows Command = "INSERT"
	UpdateRows Command = "UPDATE"
	DeleteRows Command = "DELETE"
)

// Commands lists every policy command.
var Commands = []Command{All, SelectRows, InsertRows, UpdateRows, DeleteRows}

// Kind says how a policy combines with the others on its table.
type Kind string

// The two policy kinds of PostgreSQL.
const (
	Restrictive Kind = "RESTRICTIVE"
	Permissive  Kind = "PERMISSIVE"
)

// Kinds lists both policy kinds.
var Kinds = []Kind{Restrictive, Permissive}

// Model is a whole declaration: plain data, with the source range of every
// declared element kept for diagnostics. It is what the SQL generator reads and
// what migrations/schema.json stores (ranges are not serialised).
type Model struct {
	Tenancy  Tenancy   `json:"tenancy"`
	Roles    []*Role   `json:"roles"`
	Tables   []*Table  `json:"tables"`
	Policies []*Policy `json:"policies"`
	// Views and Functions are left out of schema.json when none is declared, so that the files of a declaration
	// without them stay as they were.
	Views     []*View     `json:"views,omitempty"`
	Functions []*Function `json:"functions,omitempty"`

	src map[string][]byte // the source files by name, for Locate; nil for a model not read from source
}

// clone copies m deeply, source ranges and renames included.
func (m *Model) clone() *Model {
	c := *m
	c.Roles = cloneEach(m.Roles, func(r Role) Role {
		r.Privileges = slices.Clone(r.Privileges)
		return r
	})
	c.Tables = cloneEach(m.Tables, func(t Table) Table {
		t.Columns = cloneEach(t.Columns, func(c Column) Column { return c })
		if t.PrimaryKey != nil {
			pk := *t.PrimaryKey
			pk.Columns = slices.Clone(pk.Columns)
			t.PrimaryKey = &pk
		}
		t.Indexes = cloneEach(t.Indexes, func(ix Index) Index {
			ix.Columns = slices.Clone(ix.Columns)
			return ix
		})
		t.ForeignKeys = cloneEach(t.ForeignKeys, func(fk ForeignKey) ForeignKey {
			fk.Columns, fk.RefColumns = slices.Clone(fk.Columns), slices.Clone(fk.RefColumns)
			return fk
		})
		t.Checks = cloneEach(t.Checks, func(c Check) Check { return c })
		return t
	})
	c.Policies = cloneEach(m.Policies, func(p Policy) Policy {
		p.To = slices.Clone(p.To)
		return p
	})
	c.Views = cloneEach(m.Views, func(v View) View {
		v.Columns = cloneEach(v.Columns, func(c ViewColumn) ViewColumn { return c })
		v.To = slices.Clone(v.To)
		return v
	})
	c.Functions = cloneEach(m.Functions, func(f Function) Function {
		f.Args = cloneEach(f.Args, func(a Arg) Arg { return a })
		f.To = slices.Clone(f.To)
		return f
	})
	return &c
}

// cloneEach copies every element of s with f; nil stays nil.
func cloneEach[T any](s []*T, f func(T) T) []*T {
	if s == nil {
		return nil
	}
	out := make([]*T, len(s))
	for i, p := range s {
		v := f(*p)
		out[i] = &v
	}
	return out
}

// Tenancy names the tenant column, the session setting the policies read and
// the request header naming the tenant, and the database the schema is for.
type Tenancy struct {
	Column  string `json:"column"`
	Setting string `json:"setting"`
	Header  string `json:"header"`
	// ScaleOut is ScaleOutCitus for a Citus cluster (tenant tables distributed by the tenant column, shared
	// tables as reference tables), or "" for one PostgreSQL (scale_out = "none", the default).
	ScaleOut string    `json:"scale_out,omitempty"`
	Range    hcl.Range `json:"-"`
}

// The values of tenancy.scale_out.
const (
	ScaleOutNone  = "none"
	ScaleOutCitus = "citus"
)

// Citus reports whether the schema is for a Citus cluster.
func (t Tenancy) Citus() bool { return t.ScaleOut == ScaleOutCitus }

// DefaultTenancy is what an absent or partial tenancy block means.
var DefaultTenancy = Tenancy{
	Column:  "tenant_id",
	Setting: "app.current_tenant_id",
	Header:  "X-Tenant-ID",
}

// Role is a NOLOGIN database role and the privileges it holds on every
// tenant table.
type Role struct {
	Name       string      `json:"name"`
	Privileges []Privilege `json:"privileges"`
	Range      hcl.Range   `json:"-"`
}

// Has reports whether the role holds p.
func (r *Role) Has(p Privilege) bool {
	for _, q := range r.Privileges {
		if q == p {
			return true
		}
	}
	return false
}

// Table is a declared table. A tenant table (Shared false) gets the tenant
// column, tenant-leading keys and the isolation policies; a shared table is
// read-only reference data.
type Table struct {
	Name        string        `json:"name"`
	Shared      bool          `json:"shared,omitempty"`
	Comment     string        `json:"comment,omitempty"`
	Columns     []*Column     `json:"columns"`
	PrimaryKey  *PrimaryKey   `json:"primary_key"`
	Indexes     []*Index      `json:"indexes,omitempty"`
	ForeignKeys []*ForeignKey `json:"foreign_keys,omitempty"`
	Checks      []*Check      `json:"checks,omitempty"`
	Range       hcl.Range     `json:"-"`

	// RenamedFrom is the table's name in the last migration when the
	// declaration renames it (renamed_from = "old"): generate then writes
	// ALTER TABLE … RENAME instead of a drop and an add. It is an instruction
	// for one migration, not part of the schema, so schema.json leaves it out.
	RenamedFrom      string     `json:"-"`
	RenamedFromRange *hcl.Range `json:"-"`
}

// Column finds a declared column by name.
func (t *Table) Column(name string) *Column {
	for _, c := range t.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Column is a declared column. Columns are NOT NULL unless Null is set.
type Column struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Null    bool   `json:"null,omitempty"`
	Default string `json:"default,omitempty"` // SQL expression text
	Comment string `json:"comment,omitempty"`

	// RenamedFrom is the column's name in the last migration, as Table.RenamedFrom.
	RenamedFrom      string     `json:"-"`
	RenamedFromRange *hcl.Range `json:"-"`

	Range        hcl.Range  `json:"-"`
	TypeRange    *hcl.Range `json:"-"` // the type expression; nil when the type is copied from a referenced key
	DefaultRange *hcl.Range `json:"-"`
}

// PrimaryKey lists the declared key columns; the tenant column is prepended
// by the generator for tenant tables.
type PrimaryKey struct {
	Columns []string  `json:"columns"`
	Range   hcl.Range `json:"-"`
}

// Index is a plain or unique index. For tenant tables the generator leads it
// with the tenant column.
type Index struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Unique  bool     `json:"unique,omitempty"`
	Where   string   `json:"where,omitempty"` // SQL predicate text

	Range      hcl.Range  `json:"-"`
	WhereRange *hcl.Range `json:"-"`
}

// ForeignKey links Columns to RefColumns of RefTable. Between two tenant
// tables the generator adds the tenant column to both sides.
type ForeignKey struct {
	Name       string   `json:"name"`
	Columns    []string `json:"columns"`
	RefTable   string   `json:"ref_table"`
	RefColumns []string `json:"ref_columns"`
	OnDelete   Action   `json:"on_delete,omitempty"`

	Range hcl.Range `json:"-"`
}

// Check is a named CHECK constraint.
type Check struct {
	Name string `json:"name"`
	Expr string `json:"expr"` // SQL predicate text

	Range     hcl.Range  `json:"-"`
	ExprRange *hcl.Range `json:"-"`
}

// Policy is an extra row-level security policy on one table. Restrictive
// policies are ANDed with tenant isolation and can only narrow what a role
// sees.
type Policy struct {
	Name  string   `json:"name"`
	Table string   `json:"table"`
	To    []string `json:"to"`
	For   Command  `json:"for"`
	As    Kind     `json:"as"`
	Using string   `json:"using,omitempty"`
	Check string   `json:"check,omitempty"`

	Range      hcl.Range  `json:"-"`
	UsingRange *hcl.Range `json:"-"`
	CheckRange *hcl.Range `json:"-"`
}

// Table finds a declared table by name.
func (m *Model) Table(name string) *Table {
	for _, t := range m.Tables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Role finds a declared role by name.
func (m *Model) Role(name string) *Role {
	for _, r := range m.Roles {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// PoliciesOn returns the extra policies declared on table, in declaration order.
func (m *Model) PoliciesOn(table string) []*Policy {
	var out []*Policy
	for _, p := range m.Policies {
		if p.Table == table {
			out = append(out, p)
		}
	}
	return out
}
