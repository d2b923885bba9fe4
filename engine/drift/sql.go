package drift

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"pgtenant/engine/ddl"
	"pgtenant/schema"
)

// This file spells the SQL of the differences: GRANT and REVOKE from ACL items, CREATE POLICY from pg_policies'
// fields, column definitions and comments.

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

// list spells a group's privileges as GRANT lists them: SELECT, INSERT (a, b).
func (g *privilegeGroup) list(quote bool) []string {
	out := slices.Clone(g.table)
	types := slices.SortedFunc(maps.Keys(g.columns), func(a, b string) int {
		return cmp.Compare(privilegeRank(a), privilegeRank(b))
	})
	for _, typ := range types {
		cols := g.columns[typ]
		if quote {
			out = append(out, typ+" ("+ddl.Idents(cols)+")")
		} else {
			out = append(out, typ+" ("+strings.Join(cols, ", ")+")")
		}
	}
	return out
}

func describePrivileges(ps []Privilege, t *Table) string {
	var parts []string
	for _, g := range group(ps, t) {
		s := strings.Join(g.list(false), ", ")
		if g.grantable {
			s += " WITH GRANT OPTION"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// grants are the GRANT statements that give ps on target.
func grants(target string, ps []Privilege, t *Table) []string {
	var out []string
	for _, g := range group(ps, t) {
		// Privileges on the object and on columns go in separate statements, for the reviewer's eye.
		stmt := func(list []string) {
			s := "GRANT " + strings.Join(list, ", ") + " ON " + target + " TO " + roleName(g.grantee)
			if g.grantable {
				s += " WITH GRANT OPTION"
			}
			out = append(out, s+";")
		}
		if len(g.table) > 0 {
			stmt(g.table)
		}
		for _, l := range (&privilegeGroup{columns: g.columns}).list(true) {
			stmt([]string{l})
		}
	}
	return out
}

// revokes are the REVOKE statements that take ps on target away (with their grant option).
func revokes(target string, ps []Privilege, t *Table) []string {
	var out []string
	seen := map[string]bool{}
	for _, g := range group(ps, t) {
		list := g.list(true)
		s := "REVOKE " + strings.Join(list, ", ") + " ON " + target + " FROM " + roleName(g.grantee) + ";"
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// roleName spells a grantee or a policy role in SQL.
func roleName(r string) string {
	switch r {
	case Public, "public":
		return "PUBLIC"
	}
	return ddl.Ident(r)
}

// createPolicySQL is CREATE POLICY for want's policy p on table t. The table's owner is got's owner when got has
// the table, else CURRENT_USER: a new table is owned by the role that runs the SQL.
func createPolicySQL(t *Table, p *Policy, got *Table) string {
	roles := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		switch {
		case r == Owner && got != nil && got.Owner != "":
			roles[i] = ddl.Ident(got.Owner)
		case r == Owner:
			roles[i] = "CURRENT_USER"
		default:
			roles[i] = roleName(r)
		}
	}
	s := fmt.Sprintf("CREATE POLICY %s ON %s AS %s FOR %s TO %s", ddl.Ident(p.Name), qualified(t), permissive(p),
		p.Command, strings.Join(roles, ", "))
	if p.Using != "" {
		s += "\n    USING (" + p.Using + ")"
	}
	if p.Check != "" {
		s += "\n    WITH CHECK (" + p.Check + ")"
	}
	return s + ";"
}

// functionDef is CREATE OR REPLACE FUNCTION as pg_get_functiondef prints it, ended by a semicolon.
func functionDef(f *Function) string { return strings.TrimRight(f.Def, "\n") + ";" }

func addConstraintSQL(t *Table, con *Constraint) string {
	return "ALTER TABLE " + qualified(t) + " ADD CONSTRAINT " + ddl.Ident(con.Name) + " " + con.Def + ";"
}

// columnDef is a column's definition in CREATE TABLE or ADD COLUMN.
func columnDef(col *Column) string {
	s := ddl.Ident(col.Name) + " " + col.Type
	switch {
	case col.Generated != "":
		s += " GENERATED ALWAYS AS (" + col.Generated + ") STORED"
	case col.Identity != "":
		s += " GENERATED " + col.Identity + " AS IDENTITY"
	case col.Default != "":
		s += " DEFAULT " + col.Default
	}
	if col.NotNull {
		s += " NOT NULL"
	}
	return s
}

func commentOn(target, text string) string {
	if text == "" {
		return "COMMENT ON " + target + " IS NULL;"
	}
	return "COMMENT ON " + target + " IS " + schema.QuoteLiteral(text) + ";"
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
