package query

import (
	"strings"

	"pgtenant/engine/ddl"
)

// Call is a function call that a read selects from instead of its table: the result of an RPC that returns a set
// of rows (or one row) of Request.Table, to which the read grammar applies. The function runs once per statement,
// in a MATERIALIZED common table expression, whatever the count or the embeds read from it.
type Call struct {
	// Function is the function's name in the served schema.
	Function string
	// Args are the arguments the call passes, by name (named notation), with their SQL types as the catalog
	// prints them; the arguments left out take their defaults.
	Args []CallArg
	// Object is a JSON object holding the arguments by name: the JSON values of an RPC's body, or the strings of
	// its query string. PostgreSQL converts each to its argument's type (json_to_record).
	Object []byte
	// Single passes Object itself as the function's one argument (Prefer: params=single-object); Args then
	// holds that argument alone.
	Single bool
}

// CallArg is one argument a Call passes.
type CallArg struct {
	Name string
	Type string // SQL type text from the catalog (format_type)
}

// FromSQL renders the FROM clause of c, with arg allocating its one argument (the JSON object; none when the call
// passes no argument): the function's
// result is pgrst_fn, its arguments record pgrst_args. A function of a base type yields pgrst_fn as that value.
func (c Call) FromSQL(arg func(string) string) string {
	fn := ddl.Ident(ddl.Schema) + "." + ddl.Ident(c.Function)
	if c.Single {
		obj := arg(string(c.Object))
		typ := "json"
		if len(c.Args) == 1 {
			typ = c.Args[0].Type
		}
		return fn + "(" + obj + "::" + typ + ") AS pgrst_fn"
	}
	if len(c.Args) == 0 {
		return fn + "() AS pgrst_fn"
	}
	defs := make([]string, len(c.Args))
	pass := make([]string, len(c.Args))
	for i, a := range c.Args {
		defs[i] = ddl.Ident(a.Name) + " " + a.Type
		pass[i] = ddl.Ident(a.Name) + " => pgrst_args." + ddl.Ident(a.Name)
	}
	return "pg_catalog.json_to_record(" + arg(string(c.Object)) + "::json) AS pgrst_args(" + strings.Join(defs, ", ") +
		"), LATERAL " + fn + "(" + strings.Join(pass, ", ") + ") AS pgrst_fn"
}

// callCTE renders the common table expression a read of a call's result selects from; "" without a call.
func (q *Query) callCTE(b *builder) string {
	if q.call == nil {
		return ""
	}
	return "pgrst_call AS MATERIALIZED (\n  SELECT pgrst_fn.* FROM " + q.call.FromSQL(b.arg) + "\n),\n"
}

// source is what a read selects from: the table, or a call's result under the table's name, so that the columns
// qualified by it (embeds) still resolve.
func (q *Query) source() string {
	if q.call != nil {
		return "pgrst_call AS " + ddl.Ident(q.tb.t.Name)
	}
	return ddl.TableName(q.tb.t)
}
