package introspect

import (
	"cmp"
	"slices"

	"github.com/jackc/pgx/v5"
)

// reader assembles a Catalog from the rows of Read's queries, in the order Read queues them: tables and
// relations before what belongs to them.
type reader struct {
	c         *Catalog
	tables    map[uint32]*Table
	relations map[uint32]*Relation
	schemas   map[uint32]*Schema
	functions map[uint32]*Function
	indexes   map[uint32]*Index // by the index's oid
	refs      []ref             // what constraints name by oid, named once every row is in
	policies  []policyRow
}

// ref is a constraint's index and referenced table, by oid.
type ref struct {
	con          *Constraint
	index, table uint32
}

// policyRow is a policy with the table pg_policies names it by.
type policyRow struct {
	schema, table string
	p             *Policy
}

func newReader() *reader {
	return &reader{c: &Catalog{}, tables: map[uint32]*Table{}, relations: map[uint32]*Relation{},
		schemas: map[uint32]*Schema{}, functions: map[uint32]*Function{}, indexes: map[uint32]*Index{}}
}

// query is one of Read's queries and what files its rows.
type query struct {
	what string
	sql  string
	read func(rows pgx.Rows) error
}

func (r *reader) queries() []query {
	return []query{
		{"role", roleQuery, r.role},
		{"schemas", schemasQuery, r.schemaRows},
		{"tables", tablesQuery, r.tableRows},
		{"relations", relationsQuery, r.relationRows},
		{"columns", columnsQuery, r.columns},
		{"view columns", viewColumnsQuery, r.viewColumns},
		{"view reads", viewReadsQuery, r.viewReads},
		{"constraints", constraintsQuery, r.constraints},
		{"indexes", indexesQuery, r.indexRows},
		{"policies", policiesQuery, r.policyRows},
		{"triggers", triggersQuery, r.triggers},
		{"rules", rulesQuery, r.rules},
		{"calls", callsQuery, r.calls},
		{"functions", functionsQuery, r.functionRows},
		{"privileges", privilegesQuery, r.privileges},
	}
}

func (r *reader) role(rows pgx.Rows) error {
	var m Membership
	var self bool
	_, err := pgx.ForEachRow(rows, []any{&m.Name, &m.Via, &m.Super, &m.BypassRLS, &self}, func() error {
		r.c.Role.MemberOf = append(r.c.Role.MemberOf, m)
		if self && m.Via == "" {
			r.c.Role.Name, r.c.Role.Super, r.c.Role.BypassRLS = m.Name, m.Super, m.BypassRLS
		}
		return nil
	})
	return err
}

func (r *reader) schemaRows(rows pgx.Rows) error {
	return collect(rows, r.schemas, &r.c.Schemas, func(s *Schema) []any {
		return []any{&s.Name, &s.Owner, &s.Comment, &s.Extension}
	})
}

func (r *reader) tableRows(rows pgx.Rows) error {
	err := collect(rows, r.tables, &r.c.Tables, func(t *Table) []any {
		return []any{&t.Schema, &t.Name, &t.Partitioned, &t.Partition, &t.Extension, &t.Owner, &t.RowSecurity,
			&t.ForceRowSecurity, &t.Reachable, &t.Comment}
	})
	for oid, t := range r.tables {
		t.OID = oid
	}
	return err
}

func (r *reader) relationRows(rows pgx.Rows) error {
	return collect(rows, r.relations, &r.c.Relations, func(rel *Relation) []any {
		return []any{&rel.Schema, &rel.Name, &rel.Kind, &rel.Owner, &rel.Extension, &rel.Def, &rel.Options,
			&rel.Comment, &rel.ColumnComments, &rel.Reachable}
	})
}

func (r *reader) functionRows(rows pgx.Rows) error {
	var names, types, modes, defaults []string
	return collect(rows, r.functions, &r.c.Functions, func(f *Function) []any {
		return []any{&f.Signature, &f.Schema, &f.Name, &f.Kind, &f.Def, &f.Comment, &f.Extension,
			&names, &types, &modes, &defaults, &f.Returns, &f.ReturnsSet, &f.ReturnsSchema, &f.ReturnsRelation,
			&f.Volatility}
	}, func(f *Function) {
		f.Args = nil
		for i := range types {
			f.Args = append(f.Args, Arg{Name: names[i], Type: types[i], Mode: modes[i], Default: defaults[i]})
		}
	})
}

// viewReads files the table columns a view reads in its relation.
func (r *reader) viewReads(rows pgx.Rows) error {
	var oid uint32
	var c ColumnRef
	_, err := pgx.ForEachRow(rows, []any{&oid, &c.Schema, &c.Table, &c.Column}, func() error {
		if rel := r.relations[oid]; rel != nil {
			rel.Reads = append(rel.Reads, c)
		}
		return nil
	})
	return err
}

// viewColumns files a view's columns in its relation.
func (r *reader) viewColumns(rows pgx.Rows) error {
	var oid uint32
	var c Column
	_, err := pgx.ForEachRow(rows, []any{&oid, &c.Position, &c.Name, &c.Type, &c.Comment}, func() error {
		if rel := r.relations[oid]; rel != nil {
			col := c
			rel.Columns = append(rel.Columns, &col)
		}
		return nil
	})
	return err
}

// collect files each row of an object of its own (a schema, a table, …): the row's oid, then the fields fields
// names, scanned into a new T that goes into byOID and onto list once each of after has finished it.
func collect[T any](rows pgx.Rows, byOID map[uint32]*T, list *[]*T, fields func(*T) []any, after ...func(*T)) error {
	var oid uint32
	var v T
	_, err := pgx.ForEachRow(rows, append([]any{&oid}, fields(&v)...), func() error {
		c := v
		for _, fn := range after {
			fn(&c)
		}
		byOID[oid] = &c
		*list = append(*list, &c)
		return nil
	})
	return err
}

// each files a row of a table's object in the table the first column names; a table created after the tables
// query ran (possible only inside a caller's READ COMMITTED transaction) is skipped.
func (r *reader) each(rows pgx.Rows, scans []any, fn func(t *Table)) error {
	var oid uint32
	_, err := pgx.ForEachRow(rows, append([]any{&oid}, scans...), func() error {
		if t := r.tables[oid]; t != nil {
			fn(t)
		}
		return nil
	})
	return err
}

func (r *reader) columns(rows pgx.Rows) error {
	var c Column
	return r.each(rows, []any{&c.Position, &c.Name, &c.Type, &c.NotNull, &c.Default, &c.Identity, &c.Sequence,
		&c.Generated, &c.Comment}, func(t *Table) {
		col := c
		t.Columns = append(t.Columns, &col)
	})
}

func (r *reader) constraints(rows pgx.Rows) error {
	var c Constraint
	var index, table uint32
	return r.each(rows, []any{&c.Name, &c.Kind, &c.Def, &c.Expr, &c.Keys, &index, &table, &c.RefKeys, &c.OnDelete},
		func(t *Table) {
			con := c
			if con.Kind != "f" {
				con.RefKeys, con.OnDelete = nil, ""
			}
			con.Columns = names(t, con.Keys)
			t.Constraints = append(t.Constraints, &con)
			r.refs = append(r.refs, ref{con: &con, index: index, table: table})
		})
}

func (r *reader) indexRows(rows pgx.Rows) error {
	var ix Index
	var oid uint32
	return r.each(rows, []any{&oid, &ix.Name, &ix.Def, &ix.Valid, &ix.Unique, &ix.Primary, &ix.Keys, &ix.Partial,
		&ix.Expressions}, func(t *Table) {
		i := ix
		r.indexes[oid] = &i
		t.Indexes = append(t.Indexes, &i)
	})
}

func (r *reader) policyRows(rows pgx.Rows) error {
	var schemaName, table string
	var p Policy
	_, err := pgx.ForEachRow(rows, []any{&schemaName, &table, &p.Name, &p.Permissive, &p.Command, &p.Roles, &p.Using,
		&p.Check}, func() error {
		pol := p
		r.policies = append(r.policies, policyRow{schemaName, table, &pol})
		return nil
	})
	return err
}

func (r *reader) triggers(rows pgx.Rows) error {
	var g Trigger
	return r.each(rows, []any{&g.Name, &g.Def, &g.Enabled, &g.Function}, func(t *Table) {
		tg := g
		t.Triggers = append(t.Triggers, &tg)
	})
}

func (r *reader) rules(rows pgx.Rows) error {
	var rl Rule
	return r.each(rows, []any{&rl.Name, &rl.Def}, func(t *Table) {
		x := rl
		t.Rules = append(t.Rules, &x)
	})
}

func (r *reader) calls(rows pgx.Rows) error {
	var c Call
	return r.each(rows, []any{&c.What, &c.Function, &c.Signature}, func(t *Table) {
		t.Calls = append(t.Calls, c)
	})
}

func (r *reader) privileges(rows pgx.Rows) error {
	var kind string
	var oid uint32
	var p Privilege
	_, err := pgx.ForEachRow(rows, []any{&kind, &oid, &p.Column, &p.Grantee, &p.Type, &p.Grantable}, func() error {
		switch kind {
		case "class":
			if t := r.tables[oid]; t != nil {
				t.Privileges = append(t.Privileges, p)
			} else if rel := r.relations[oid]; rel != nil {
				rel.Privileges = append(rel.Privileges, p)
			}
		case "namespace":
			if s := r.schemas[oid]; s != nil {
				s.Privileges = append(s.Privileges, Privilege{Grantee: p.Grantee, Type: p.Type, Grantable: p.Grantable})
			}
		case "proc":
			if f := r.functions[oid]; f != nil {
				f.Privileges = append(f.Privileges, Privilege{Grantee: p.Grantee, Type: p.Type, Grantable: p.Grantable})
			}
		}
		return nil
	})
	return err
}

// finish names what rows named by oid, files the policies and sorts what has no order of its own.
func (r *reader) finish() {
	for _, x := range r.refs {
		if ix := r.indexes[x.index]; ix != nil {
			x.con.Index = ix.Name
			if x.con.Kind != "f" {
				ix.Constraint = x.con.Name
			}
		}
		if ref := r.tables[x.table]; ref != nil {
			x.con.RefSchema, x.con.RefTable = ref.Schema, ref.Name
			x.con.RefColumns = names(ref, x.con.RefKeys)
		}
	}
	byName := func(a, b string) int { return cmp.Compare(a, b) }
	slices.SortFunc(r.c.Schemas, func(a, b *Schema) int { return byName(a.Name, b.Name) })
	slices.SortFunc(r.c.Tables, func(a, b *Table) int {
		return cmp.Or(byName(a.Schema, b.Schema), byName(a.Name, b.Name))
	})
	slices.SortFunc(r.c.Relations, func(a, b *Relation) int {
		return cmp.Or(byName(a.Schema, b.Schema), byName(a.Name, b.Name))
	})
	slices.SortFunc(r.c.Functions, func(a, b *Function) int { return byName(a.Signature, b.Signature) })
	for _, p := range r.policies {
		if t := r.c.Table(p.schema, p.table); t != nil {
			t.Policies = append(t.Policies, p.p)
		}
	}
	for _, t := range r.c.Tables {
		slices.SortFunc(t.Constraints, func(a, b *Constraint) int { return byName(a.Name, b.Name) })
		slices.SortFunc(t.Indexes, func(a, b *Index) int { return byName(a.Name, b.Name) })
		slices.SortFunc(t.Policies, func(a, b *Policy) int { return byName(a.Name, b.Name) })
		slices.SortFunc(t.Triggers, func(a, b *Trigger) int { return byName(a.Name, b.Name) })
		slices.SortFunc(t.Rules, func(a, b *Rule) int { return byName(a.Name, b.Name) })
		slices.SortFunc(t.Calls, func(a, b Call) int {
			return cmp.Or(byName(a.What, b.What), byName(a.Function, b.Function), byName(a.Signature, b.Signature))
		})
		SortPrivileges(t.Privileges)
	}
	for _, rel := range r.c.Relations {
		SortPrivileges(rel.Privileges)
	}
	for _, s := range r.c.Schemas {
		SortPrivileges(s.Privileges)
	}
	for _, f := range r.c.Functions {
		SortPrivileges(f.Privileges)
	}
}

// names returns the names of the columns keys of t ("" for an expression's 0 or a column Read did not see).
func names(t *Table, keys []int16) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		if c := t.ColumnNum(k); c != nil {
			out[i] = c.Name
		}
	}
	return out
}

// SortPrivileges sorts privileges by grantee, column, then in the order GRANT statements list them.
func SortPrivileges(ps []Privilege) {
	slices.SortFunc(ps, func(a, b Privilege) int {
		return cmp.Or(cmp.Compare(a.Grantee, b.Grantee), cmp.Compare(a.Column, b.Column),
			cmp.Compare(PrivilegeRank(a.Type), PrivilegeRank(b.Type)), cmp.Compare(a.Type, b.Type),
			boolCompare(a.Grantable, b.Grantable))
	})
}

// privilegeOrder is the order GRANT statements list privileges in, as PostgreSQL's documentation does.
var privilegeOrder = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER",
	"USAGE", "CREATE", "EXECUTE"}

// PrivilegeRank is the place of privilege type p in the order GRANT statements list them; unknown types last.
func PrivilegeRank(p string) int {
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
