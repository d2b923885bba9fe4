package query

import (
	"strings"

	"pgtenant/schema"
)

// fieldRef is a column reference with an optional JSON path: meta->a->>0.
type fieldRef struct {
	Name string
	Path []pathStep
}

// pathStep is one JSON arrow: -> (Text false) or ->> (Text true), with a key
// or, when Index is set, an array index (Key holds its digits).
type pathStep struct {
	Text  bool
	Index bool
	Key   string
}

// String prints f in the request grammar.
func (f fieldRef) String() string {
	var b strings.Builder
	b.WriteString(quoteName(f.Name))
	for _, s := range f.Path {
		if s.Text {
			b.WriteString("->>")
		} else {
			b.WriteString("->")
		}
		switch {
		case s.Index:
			b.WriteString(s.Key)
		case isIndexLike(s.Key):
			b.WriteString(quoteValue(s.Key))
		default:
			b.WriteString(quoteName(s.Key))
		}
	}
	return b.String()
}

func isIndexLike(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// key is the JSON key PostgREST gives f in a response: the last JSON key of
// the path, else the column name.
func (f fieldRef) key() string {
	for i := len(f.Path) - 1; i >= 0; i-- {
		if !f.Path[i].Index {
			return f.Path[i].Key
		}
	}
	return f.Name
}

// textual reports whether the path ends with ->>, which yields text.
func (f fieldRef) textual() bool { return len(f.Path) > 0 && f.Path[len(f.Path)-1].Text }

// table is the served table with the facts the parser needs about its columns.
type table struct {
	model  *schema.Model
	t      *schema.Table
	tenant string   // the tenant column; "" on a shared table
	cols   []column // columns(), once computed
}

func newTable(m *schema.Model, t *schema.Table) *table {
	tb := &table{model: m, t: t}
	if !t.Shared {
		tb.tenant = m.Tenancy.Column
	}
	return tb
}

// column is what the builder knows of one column.
type column struct {
	Name    string
	Type    string // lower-case type text as the model spells it
	Default string // SQL expression text from the model; "" for none
	Tenant  bool   // the tenant column: readable, never written
}

// column finds a column by name; the tenant column of a tenant table is one.
func (tb *table) column(name string) (column, bool) {
	if tb.tenant != "" && name == tb.tenant {
		return column{Name: name, Type: "uuid", Tenant: true}, true
	}
	if c := tb.t.Column(name); c != nil {
		return columnOf(c), true
	}
	return column{}, false
}

func columnOf(c *schema.Column) column {
	return column{Name: c.Name, Type: strings.ToLower(strings.TrimSpace(c.Type)), Default: c.Default}
}

// columns lists every column in table order: the tenant column first, as
// the generator creates it, then the declared ones. select=* means these.
// The list is computed once per query; callers must not change it.
func (tb *table) columns() []column {
	if tb.cols != nil {
		return tb.cols
	}
	out := make([]column, 0, len(tb.t.Columns)+1)
	if tb.tenant != "" {
		c, _ := tb.column(tb.tenant)
		out = append(out, c)
	}
	for _, c := range tb.t.Columns {
		if tb.tenant != "" && c.Name == tb.tenant {
			c, _ := tb.column(c.Name)
			out = append(out, c)
			continue
		}
		out = append(out, columnOf(c))
	}
	tb.cols = out
	return out
}

// lookup resolves a name used in param or returns a *ColumnError.
func (tb *table) lookup(name, param string) (column, error) {
	c, ok := tb.column(name)
	if !ok {
		return column{}, &ColumnError{Table: tb.t.Name, Column: name, Param: param}
	}
	return c, nil
}

// baseType drops a type's modifiers: "varchar(200)" → "varchar".
func baseType(typ string) string {
	if i := strings.IndexByte(typ, '('); i >= 0 {
		typ = typ[:i]
	}
	return strings.TrimSpace(typ)
}

func isArrayType(typ string) bool { return strings.HasSuffix(typ, "]") }

// isJSONType reports whether typ is json or jsonb, the only types a JSON
// path may follow.
func isJSONType(typ string) bool {
	b := baseType(typ)
	return !isArrayType(typ) && (b == "json" || b == "jsonb")
}

// isTextType reports whether pattern operators apply to typ without a cast.
func isTextType(typ string) bool {
	if isArrayType(typ) {
		return false
	}
	switch baseType(typ) {
	case "text", "varchar", "character varying", "char", "character", "bpchar", "citext", "name":
		return true
	}
	return false
}

func isTSVectorType(typ string) bool { return typ == "tsvector" }

// resolve checks that f names a column of tb and that a JSON path only
// follows a json or jsonb column.
func (tb *table) resolve(f fieldRef, param string) (column, error) {
	c, err := tb.lookup(f.Name, param)
	if err != nil {
		return column{}, err
	}
	if len(f.Path) > 0 && !isJSONType(c.Type) {
		return column{}, &ParseError{Param: param, Msg: "JSON path on column " + quoteName(c.Name) +
			" of type " + c.Type + ": only json and jsonb columns have one"}
	}
	return c, nil
}
