package drift

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"pgtenant/engine/ddl"
	"pgtenant/schema"
)

// This file turns catalog rows into ddl's typed statements: GRANT and REVOKE from ACL items, CREATE POLICY from
// pg_policies' fields, column definitions. ddl.Render writes their SQL.

// privilegeGroup is the privileges of one grantee that one GRANT or REVOKE statement gives or takes.
type privilegeGroup struct {
	grantee   string
	grantable bool
	table     []string            // privilege types on the object itself
	columns   map[string][]string // privilege type → columns
}

// group sorts ps into one group per grantee and grant option, columns in t's order.
func group(ps []Privilege, t *Table) []*privilegeGroup {
	var out []*privilegeGroup
	find := func(grantee string, grantable bool) *privilegeGroup {
		for _, g := range out {
			if g.grantee == grantee && g.grantable == grantable {
				return g
			}
		}
		g := &privilegeGroup{grantee: grantee, grantable: grantable, columns: map[string][]string{}}
		out = append(out, g)
		return g
	}
	sorted := slices.Clone(ps)
	sortPrivileges(sorted)
	for _, p := range sorted {
		g := find(p.Grantee, p.Grantable)
		if p.Column == "" {
			g.table = append(g.table, p.Type)
		} else {
			g.columns[p.Type] = append(g.columns[p.Type], p.Column)
		}
	}
	for _, g := range out {
		for _, cols := range g.columns {
			sortColumnNames(cols, t)
		}
	}
	return out
}

// list spells a group's privileges for a person: SELECT, INSERT (a, b).
func (g *privilegeGroup) list() []string {
	var out []string
	for _, p := range g.privileges() {
		s := p.Type
		if len(p.Columns) > 0 {
			s += " (" + strings.Join(p.Columns, ", ") + ")"
		}
		out = append(out, s)
	}
	return out
}

// privileges are a group's privileges as GRANT lists them: on the object first, then on columns.
func (g *privilegeGroup) privileges() []ddl.Privilege {
	return append(g.tablePrivileges(), g.columnPrivileges()...)
}

// tablePrivileges are a group's privileges on the object itself.
func (g *privilegeGroup) tablePrivileges() []ddl.Privilege {
	var out []ddl.Privilege
	for _, typ := range g.table {
		out = append(out, ddl.Privilege{Type: typ})
	}
	return out
}

func (g *privilegeGroup) columnPrivileges() []ddl.Privilege {
	types := slices.SortedFunc(maps.Keys(g.columns), func(a, b string) int {
		return cmp.Compare(privilegeRank(a), privilegeRank(b))
	})
	out := make([]ddl.Privilege, len(types))
	for i, typ := range types {
		out[i] = ddl.Privilege{Type: typ, Columns: g.columns[typ]}
	}
	return out
}

func describePrivileges(ps []Privilege, t *Table) string {
	var parts []string
	for _, g := range group(ps, t) {
		s := strings.Join(g.list(), ", ")
		if g.grantable {
			s += " WITH GRANT OPTION"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// grants are the GRANT statements that give ps on target.
func grants(target string, ps []Privilege, t *Table) []ddl.Stmt {
	var out []ddl.Stmt
	for _, g := range group(ps, t) {
		// Privileges on the object and on columns go in separate statements, for the reviewer's eye.
		stmt := func(list []ddl.Privilege) {
			out = append(out, ddl.Grant{Privileges: list, On: target, To: []ddl.Role{role(g.grantee)}, GrantOption: g.grantable})
		}
		if len(g.table) > 0 {
			stmt(g.tablePrivileges())
		}
		for _, p := range g.columnPrivileges() {
			stmt([]ddl.Privilege{p})
		}
	}
	return out
}

// revokes are the REVOKE statements that take ps on target away (with their grant option).
func revokes(target string, ps []Privilege, t *Table) []ddl.Stmt {
	var out []ddl.Stmt
	seen := map[string]bool{}
	for _, g := range group(ps, t) {
		s := ddl.Revoke{Privileges: g.privileges(), On: target, From: []ddl.Role{role(g.grantee)}}
		if key := ddl.SQL(ddl.SingleNode, s); !seen[key] {
			seen[key] = true
			out = append(out, s)
		}
	}
	return out
}

// role is a grantee or a policy role as a statement names it.
func role(r string) ddl.Role {
	switch r {
	case Public, "public":
		return ddl.PublicRole
	}
	return ddl.Role{Name: r}
}

// policyStmt creates want's policy p on table t. The table's owner is got's owner when got has the table,
// else CURRENT_USER: a new table is owned by the role that runs the SQL.
func policyStmt(t *Table, p *Policy, got *Table) ddl.Stmt {
	roles := make([]ddl.Role, len(p.Roles))
	for i, r := range p.Roles {
		switch {
		case r == Owner && got != nil && got.Owner != "":
			roles[i] = ddl.Role{Name: got.Owner}
		case r == Owner:
			roles[i] = ddl.CurrentUser
		default:
			roles[i] = role(r)
		}
	}
	return ddl.CreatePolicy{Name: p.Name, Table: qualified(t), As: schema.Kind(permissive(p)), For: schema.Command(p.Command),
		To: roles, Using: p.Using, Check: p.Check}
}

func constraintStmt(t *Table, con *Constraint) ddl.Stmt {
	return ddl.AddConstraint{Table: qualified(t), Constraint: ddl.Constraint{Name: con.Name, Def: con.Def}}
}

// column is a column's definition in CREATE TABLE or ADD COLUMN.
func column(col *Column) ddl.Column {
	return ddl.Column{Name: col.Name, Type: col.Type, NotNull: col.NotNull, Default: col.Default,
		Generated: col.Generated, Identity: col.Identity}
}

func commentWhat(got, want string) string {
	switch {
	case got == "":
		return "has no comment, want " + schema.QuoteLiteral(want)
	case want == "":
		return "has comment " + schema.QuoteLiteral(got) + ", not declared"
	}
	return "has comment " + schema.QuoteLiteral(got) + ", want " + schema.QuoteLiteral(want)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func qualified(t *Table) string { return ddl.Qualified(t.Schema, t.Name) }

func constraintObject(t *Table, con *Constraint) string {
	return "constraint " + con.Name + " on " + qualified(t)
}

func policyObject(t *Table, name string) string { return "policy " + name + " on " + qualified(t) }

func triggerObject(t *Table, name string) string { return "trigger " + name + " on " + qualified(t) }

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// sortedColumns lists a table's columns in the order of CREATE TABLE.
func sortedColumns(t *Table) []*Column {
	cols := slices.Collect(maps.Values(t.Columns))
	slices.SortFunc(cols, func(a, b *Column) int {
		return cmp.Or(cmp.Compare(a.Position, b.Position), cmp.Compare(a.Name, b.Name))
	})
	return cols
}

// sortColumnNames orders column names as t's columns, unknown ones last by name.
func sortColumnNames(cols []string, t *Table) {
	pos := func(name string) int {
		if t != nil {
			if c := t.Columns[name]; c != nil {
				return c.Position
			}
		}
		return 1 << 30
	}
	slices.SortFunc(cols, func(a, b string) int { return cmp.Or(cmp.Compare(pos(a), pos(b)), cmp.Compare(a, b)) })
}
