package schema

import "github.com/hashicorp/hcl/v2"

// This file holds the model of declared views and functions: the read models and the RPC of the API. The
// generator creates a view WITH (security_invoker = true, security_barrier = true) and a function SECURITY
// INVOKER with a fixed search_path, so both run as the caller and its tenant's RLS applies to every table
// underneath; validation (routine_check.go, body.go) refuses what could step outside that.

// Language is the language of a function body.
type Language string

// The languages a function may be written in.
const (
	SQL     Language = "sql"
	PLpgSQL Language = "plpgsql"
)

// Languages lists every language a function may be written in.
var Languages = []Language{SQL, PLpgSQL}

// Volatility is what a function promises PostgreSQL about its effects; the API serves GET only for STABLE and
// IMMUTABLE functions.
type Volatility string

// The volatility categories of PostgreSQL.
const (
	Volatile  Volatility = "VOLATILE"
	Stable    Volatility = "STABLE"
	Immutable Volatility = "IMMUTABLE"
)

// Volatilities lists every volatility category.
var Volatilities = []Volatility{Volatile, Stable, Immutable}

// View is a declared view: a read model over declared tables. Query is the SELECT it runs (SQL text, without a
// trailing ';'); Columns are the columns the query returns, in order, with their types, which `validate` with a
// database checks against what PostgreSQL reports (Model.CheckViewColumns). To lists the roles granted SELECT.
type View struct {
	Name    string        `json:"name"`
	Comment string        `json:"comment,omitempty"`
	Query   string        `json:"query"`
	Columns []*ViewColumn `json:"columns"`
	To      []string      `json:"to"`
	// ColumnsRead lists the table columns the view's query reads, as "table.column", as the catalog records them
	// (introspect.Load fills it; a declaration leaves it empty): what the API infers a view's relationships from.
	ColumnsRead []string `json:"-"`

	Range      hcl.Range  `json:"-"`
	QueryRange *hcl.Range `json:"-"`
	ToRange    *hcl.Range `json:"-"`
}

// Column finds a declared column of the view by name.
func (v *View) Column(name string) *ViewColumn {
	for _, c := range v.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Reads lists the names the view's query refers to (tables, views, their columns: Fragment.Names), what it may
// depend on; none when the query does not parse.
func (v *View) Reads() []string {
	f, err := ParseFragment(QueryFragment, v.Query)
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range f.Names() {
		out = append(out, n.Text)
	}
	return out
}

// ViewColumn is a column a view's query returns: its name and SQL type (as a table column's type is written).
type ViewColumn struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Comment string `json:"comment,omitempty"`

	Range     hcl.Range  `json:"-"`
	TypeRange *hcl.Range `json:"-"`
}

// Function is a declared function, served at /rpc/<name>. Body is its source text, run as Language; To lists
// the roles granted EXECUTE (it is revoked from PUBLIC).
type Function struct {
	Name       string     `json:"name"`
	Comment    string     `json:"comment,omitempty"`
	Args       []*Arg     `json:"args,omitempty"`
	Returns    Returns    `json:"returns"`
	Language   Language   `json:"language"`
	Volatility Volatility `json:"volatility"`
	Body       string     `json:"body"`
	To         []string   `json:"to"`

	Range     hcl.Range  `json:"-"`
	BodyRange *hcl.Range `json:"-"`
	ToRange   *hcl.Range `json:"-"`
}

// Arg finds an argument of the function by name.
func (f *Function) Arg(name string) *Arg {
	for _, a := range f.Args {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// Arg is an argument of a function. Default is SQL expression text ("" for none); only trailing arguments
// have one, as PostgreSQL requires.
type Arg struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Default string `json:"default,omitempty"`

	Range        hcl.Range  `json:"-"`
	TypeRange    *hcl.Range `json:"-"`
	DefaultRange *hcl.Range `json:"-"`
}

// Returns is what a function returns: exactly one of Void, a scalar Type (SQL type text, as a column's) or the
// row type of Relation (a declared table or view); SetOf makes it a set of those (RETURNS SETOF).
type Returns struct {
	Void     bool   `json:"void,omitempty"`
	Type     string `json:"type,omitempty"`
	Relation string `json:"relation,omitempty"`
	SetOf    bool   `json:"setof,omitempty"`

	Range hcl.Range `json:"-"`
	// RelationRange is where the table or view is named; nil unless Relation is set.
	RelationRange *hcl.Range `json:"-"`
}

// View finds a declared view by name.
func (m *Model) View(name string) *View {
	for _, v := range m.Views {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Function finds a declared function by name.
func (m *Model) Function(name string) *Function {
	for _, f := range m.Functions {
		if f.Name == name {
			return f
		}
	}
	return nil
}
