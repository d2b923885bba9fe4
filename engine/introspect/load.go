package introspect

import (
	"cmp"
	"context"
	"slices"

	"pgtenant/engine/ddl"
	"pgtenant/schema"
)

// Load reads (with Read) the tables of schema "public" that the current role (the API's login, a member of
// the declared roles) holds any privilege on, directly or through membership, as a *schema.Model in the
// declaration's shape:
//
//   - A table with the tenancy column is a tenant table: the tenant column is left out of Columns, and its primary
//     key, unique indexes and foreign keys are given without the tenant column, exactly as policies.hcl declares
//     them. A key that the generator could not have made (one that does not lead with the tenant column, or a
//     foreign key between tenant tables that does not pair the tenant columns) has no such form and is left out:
//     a caller must never infer that (tenant column, key…) is unique when it is not. A table without the tenancy
//     column is Shared.
//   - Column.Type is format_type's spelling (compare it with a declared type with SameType), Column.Null is the
//     absence of NOT NULL, and Column.Default is the default expression as PostgreSQL prints it ("" when there is
//     none), so callers know a default exists. Comments are read too.
//   - Indexes holds the unique, non-partial indexes on plain columns (what a conflict target or a row identity can
//     use), each with Unique set; plain and partial indexes are not part of the model read back. Foreign keys are
//     those whose target is in the result; OnDelete is the action, with NO ACTION as schema.NoAction. Checks hold
//     the check constraints with PostgreSQL's text of their expression.
//
// Views and Functions are those the current role can use (see routines), sorted by name.
//
// Model.Tenancy is tenancy; Roles and Policies are left empty (the caller takes them from the declaration).
// Tables are sorted by name, columns by attnum, and keys by name. Load reads in one round trip (see Read).
func Load(ctx context.Context, db Querier, tenancy schema.Tenancy) (*schema.Model, error) {
	c, err := Read(ctx, db)
	if err != nil {
		return nil, err
	}
	return c.Model(tenancy), nil
}

// Model is the part of c that Load returns: see Load.
func (c *Catalog) Model(tenancy schema.Tenancy) *schema.Model {
	m := &schema.Model{Tenancy: tenancy}
	byOID := map[uint32]*table{}
	for _, ct := range c.Tables {
		if ct.Schema != ddl.Schema || ct.Partition || !ct.Reachable {
			continue
		}
		t := &table{Table: &schema.Table{Name: ct.Name, Comment: ct.Comment, Shared: true}, cols: map[int16]string{}}
		byOID[ct.OID] = t
		m.Tables = append(m.Tables, t.Table)
		for _, col := range ct.Columns {
			t.cols[int16(col.Position)] = col.Name
			if col.Name == tenancy.Column {
				t.tenant = int16(col.Position)
				t.Shared = false
				continue
			}
			t.Columns = append(t.Columns, &schema.Column{Name: col.Name, Type: col.Type, Null: !col.NotNull,
				Default: columnDefault(col), Comment: col.Comment})
		}
	}
	for _, ct := range c.Tables {
		t := byOID[ct.OID]
		if t == nil {
			continue
		}
		for _, ix := range ct.Indexes {
			if !ix.Unique || ix.Primary || !ix.Valid || ix.Partial || ix.Expressions {
				continue
			}
			if cols, ok := t.declared(ix.Keys); ok {
				t.Indexes = append(t.Indexes, &schema.Index{Name: ix.Name, Columns: cols, Unique: true})
			}
		}
		for _, con := range ct.Constraints {
			switch con.Kind {
			case "p":
				if cols, ok := t.declared(con.Keys); ok {
					t.PrimaryKey = &schema.PrimaryKey{Columns: cols}
				}
			case "c":
				t.Checks = append(t.Checks, &schema.Check{Name: con.Name, Expr: con.Expr})
			case "f":
				var ref *table
				if rt := c.Table(con.RefSchema, con.RefTable); rt != nil {
					ref = byOID[rt.OID]
				}
				if fk, ok := foreignKey(t, ref, con.Name, con.Keys, con.RefKeys, con.OnDelete); ok {
					t.ForeignKeys = append(t.ForeignKeys, fk)
				}
			}
		}
	}
	c.routines(m)
	return m
}

// routines adds to m the views and functions of schema "public" that the current role can use, directly or through
// membership: a view it may read, a function it may execute whose arguments are all named IN arguments and whose
// name is not overloaded (an RPC call names a function by name alone). To lists the grantees of SELECT (of EXECUTE),
// "PUBLIC" among them when every role may; a function's Returns names the relation whose row type it returns, or its
// type. Language and Body are left empty.
func (c *Catalog) routines(m *schema.Model) {
	members := map[string]bool{Public: true}
	for _, mem := range c.Role.MemberOf {
		members[mem.Name] = true
	}
	grantees := func(ps []Privilege, typ string) (to []string, usable bool) {
		for _, p := range ps {
			if p.Type == typ && p.Column == "" && !slices.Contains(to, p.Grantee) {
				to = append(to, p.Grantee)
				usable = usable || members[p.Grantee]
			}
		}
		return to, usable
	}
	for _, rel := range c.Relations {
		if rel.Schema != ddl.Schema || rel.Kind != "v" || !rel.Reachable {
			continue
		}
		v := &schema.View{Name: rel.Name, Comment: rel.Comment}
		v.To, _ = grantees(rel.Privileges, "SELECT")
		for _, col := range rel.Columns {
			v.Columns = append(v.Columns, &schema.ViewColumn{Name: col.Name, Type: col.Type, Comment: col.Comment})
		}
		for _, c := range rel.Reads {
			if c.Schema == ddl.Schema {
				v.ColumnsRead = append(v.ColumnsRead, c.Table+"."+c.Column)
			}
		}
		m.Views = append(m.Views, v)
	}
	count := map[string]int{}
	for _, f := range c.Functions {
		if f.Schema == ddl.Schema {
			count[f.Name]++
		}
	}
	for _, f := range c.Functions {
		if f.Schema != ddl.Schema || f.Kind != "f" || count[f.Name] != 1 || f.Extension {
			continue
		}
		fn := &schema.Function{Name: f.Name, Comment: f.Comment, Volatility: volatilities[f.Volatility]}
		var usable bool
		if fn.To, usable = grantees(f.Privileges, "EXECUTE"); !usable {
			continue
		}
		ok := true
		for _, a := range f.Args {
			if a.Mode != "i" || a.Name == "" {
				ok = false
				break
			}
			fn.Args = append(fn.Args, &schema.Arg{Name: a.Name, Type: a.Type, Default: a.Default})
		}
		if !ok {
			continue
		}
		switch {
		case f.Returns == "void":
			fn.Returns.Void = true
		case f.ReturnsRelation != "" && f.ReturnsSchema == ddl.Schema:
			fn.Returns.Relation = f.ReturnsRelation
		default:
			fn.Returns.Type = f.Returns
		}
		fn.Returns.SetOf = f.ReturnsSet
		m.Functions = append(m.Functions, fn)
	}
	slices.SortFunc(m.Functions, func(a, b *schema.Function) int { return cmp.Compare(a.Name, b.Name) })
}

// volatilities maps pg_proc.provolatile to the declaration's volatility.
var volatilities = map[string]schema.Volatility{"i": schema.Immutable, "s": schema.Stable, "v": schema.Volatile}

// columnDefault is a column's default as Load gives it: the default or generation expression, or, for an
// identity column (which has neither), the nextval() call it amounts to, so that callers know a value is
// supplied. The model has no flag for a generated column, so a write to a GENERATED ALWAYS column still fails in
// PostgreSQL.
func columnDefault(c *Column) string {
	switch {
	case c.Default != "":
		return c.Default
	case c.Generated != "":
		return c.Generated
	case c.Identity != "" && c.Sequence != "":
		return "nextval(" + schema.QuoteLiteral(c.Sequence) + "::regclass)"
	}
	return ""
}

// table is a table being read: the model's table plus what keys need to name their columns.
type table struct {
	*schema.Table
	cols   map[int16]string // attnum → name, the tenant column included
	tenant int16            // attnum of the tenant column; 0 on a shared table
}

// declared returns the key columns keys of t as the declaration writes them: on a tenant table, without the
// leading tenant column (schema.Model.KeyColumns adds it back). ok is false when the key has no declared form:
// on a tenant table it does not lead with the tenant column, names it twice, or is the tenant column alone.
func (t *table) declared(keys []int16) (cols []string, ok bool) {
	if t.tenant != 0 {
		if len(keys) < 2 || keys[0] != t.tenant {
			return nil, false
		}
		keys = keys[1:]
	}
	cols = make([]string, len(keys))
	for i, k := range keys {
		name, found := t.cols[k]
		if !found || k == t.tenant { // attnums start at 1, so this never holds on a shared table
			return nil, false
		}
		cols[i] = name
	}
	return cols, len(cols) > 0
}

// foreignKey reads a foreign key from t to ref in the declaration's shape, the inverse of
// schema.Model.ForeignKeyColumns: between two tenant tables both sides lose their leading tenant column; otherwise
// both sides are as they are, and must not name a tenant column (the declaration cannot). ok is false when ref is
// not in the model or the key has no declared form.
func foreignKey(t, ref *table, name string, keys, refKeys []int16, onDelete string) (*schema.ForeignKey, bool) {
	if ref == nil || len(keys) != len(refKeys) {
		return nil, false
	}
	var cols, refCols []string
	var ok bool
	if t.tenant != 0 && ref.tenant != 0 {
		cols, ok = t.declared(keys)
		if ok {
			refCols, ok = ref.declared(refKeys)
		}
	} else {
		cols, ok = t.plain(keys)
		if ok {
			refCols, ok = ref.plain(refKeys)
		}
	}
	action, known := actions[onDelete]
	if !ok || !known {
		return nil, false
	}
	return &schema.ForeignKey{Name: name, Columns: cols, RefTable: ref.Name, RefColumns: refCols, OnDelete: action}, true
}

// plain names keys as they are; ok is false if one of them is the tenant column, which the declaration never names.
func (t *table) plain(keys []int16) (cols []string, ok bool) {
	cols = make([]string, len(keys))
	for i, k := range keys {
		name, found := t.cols[k]
		if !found || k == t.tenant {
			return nil, false
		}
		cols[i] = name
	}
	return cols, len(cols) > 0
}

// actions maps pg_constraint.confdeltype to the declaration's action.
var actions = map[string]schema.Action{
	"a": schema.NoAction,
	"r": schema.Restrict,
	"c": schema.Cascade,
	"n": schema.SetNull,
	"d": schema.SetDefault,
}
