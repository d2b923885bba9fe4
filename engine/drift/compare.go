package drift

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"pgtenant/engine/ddl"
)

// Difference is one way the live database (got) differs from the declaration (want).
type Difference struct {
	Object string // what differs: "table public.content_tag", "policy tenant_isolation on public.content_tag"
	What   string // how, for a person: "row-level security is disabled"
	SQL    string // the statements that make got like want, each ending in ";" (and maybe -- comments)
}

// String is the difference as `pgtenant plan` prints it: a comment line saying what differs, then the SQL.
// Differences printed in Compare's order, one after the other, make a script that reconciles the database.
func (d Difference) String() string {
	return "-- " + d.Object + ": " + d.What + "\n" + d.SQL
}

// Script lays differences out as one SQL script, each as its String, separated by blank lines; "" for none.
func Script(diffs []Difference) string {
	var b strings.Builder
	for i, d := range diffs {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(d.String())
		b.WriteString("\n")
	}
	return b.String()
}

// phase orders the differences so that each statement finds what it needs: objects that may depend on others
// are dropped first (policies, triggers, foreign keys, constraints, indexes), then tables, columns and functions
// are created or changed, then constraints, indexes, row-level security, policies and triggers are made as
// declared, privileges and comments last; tables, columns and functions that are not declared are dropped at
// the very end, once nothing declared refers to them.
type phase int

const (
	dropPolicy phase = iota
	dropTrigger
	dropForeignKey
	dropConstraint
	dropIndex
	createSchema
	createTable
	addColumn
	alterColumn
	createFunction
	addConstraint
	addForeignKey
	createIndex
	rowSecurity
	createPolicy
	createTrigger
	grant
	comment
	dropTable
	dropColumn
	dropFunction
)

// item is a difference with its place in the order.
type item struct {
	phase phase
	key   string // orders items of one phase: the qualified table, then the object
	Difference
}

// Compare lists how got differs from want, each Difference with the SQL that reconciles it, in an order in
// which the SQL of all of them runs as one script. The SQL comes from want's definitions as PostgreSQL prints
// them (indexdef, constraintdef, functiondef, the fields of pg_policies) and from ACL items. No differences
// means got has every object of want and nothing more, with the same definitions.
//
// A table in got that want does not have was made by hand: it is reported, with whether row-level security
// protects it, and DROP TABLE as its SQL, after a comment that declaring it in policies.hcl is the alternative.
func Compare(want, got *Catalog) []Difference {
	c := &comparer{want: want, got: got}
	c.schemas()
	for _, key := range sortedKeys(want.Tables) {
		if g := got.Tables[key]; g != nil {
			c.table(want.Tables[key], g)
		} else {
			c.createTable(want.Tables[key])
		}
	}
	for _, key := range sortedKeys(got.Tables) {
		if want.Tables[key] == nil {
			c.dropTable(got.Tables[key])
		}
	}
	c.functions()
	slices.SortStableFunc(c.items, func(a, b item) int {
		return cmp.Or(cmp.Compare(a.phase, b.phase), cmp.Compare(a.key, b.key))
	})
	out := make([]Difference, len(c.items))
	for i, it := range c.items {
		out[i] = it.Difference
	}
	return out
}

type comparer struct {
	want, got *Catalog
	items     []item
}

func (c *comparer) add(p phase, key, object, what string, sql ...string) {
	c.items = append(c.items, item{phase: p, key: key, Difference: Difference{
		Object: object, What: what, SQL: strings.Join(sql, "\n"),
	}})
}

func (c *comparer) schemas() {
	for _, name := range sortedKeys(c.want.Schemas) {
		w, g := c.want.Schemas[name], c.got.Schemas[name]
		object := "schema " + name
		target := "SCHEMA " + ddl.Ident(name)
		if g == nil {
			sql := []string{"CREATE SCHEMA " + ddl.Ident(name) + ";"}
			if w.Comment != "" {
				sql = append(sql, commentOn(target, w.Comment))
			}
			sql = append(sql, grants(target, w.Privileges, nil)...)
			what := "is missing"
			if name == ddl.RegistrySchema {
				what += " (were the migrations ever applied? `pgtenant migrate up` makes everything, roles too)"
			}
			c.add(createSchema, name, object, what, sql...)
			continue
		}
		c.privileges(name, object, target, g.Privileges, w.Privileges, nil)
		if w.Comment != g.Comment {
			c.add(comment, name, object, commentWhat(g.Comment, w.Comment), commentOn(target, w.Comment))
		}
	}
	// A schema the declaration does not have is left alone: Read reads only the declaration's schemas.
}

// createTable is a table of want missing from got: CREATE TABLE with its columns and the constraints that refer
// to no other table, its comments, indexes, row-level security and privileges, as one difference. Its foreign
// keys, policies and triggers may refer to other tables, so they come later, each on its own.
func (c *comparer) createTable(w *Table) {
	name := qualified(w)
	var lines []string
	for _, col := range sortedColumns(w) {
		lines = append(lines, "    "+columnDef(col))
	}
	for _, k := range sortedKeys(w.Constraints) {
		if con := w.Constraints[k]; con.Kind != "f" {
			lines = append(lines, "    CONSTRAINT "+ddl.Ident(con.Name)+" "+con.Def)
		}
	}
	sql := []string{"CREATE TABLE " + name + " (\n" + strings.Join(lines, ",\n") + "\n);"}
	if w.Comment != "" {
		sql = append(sql, commentOn("TABLE "+name, w.Comment))
	}
	for _, col := range sortedColumns(w) {
		if col.Comment != "" {
			sql = append(sql, commentOn("COLUMN "+name+"."+ddl.Ident(col.Name), col.Comment))
		}
	}
	for _, k := range sortedKeys(w.Indexes) {
		sql = append(sql, w.Indexes[k].Def+";")
	}
	if w.RowSecurity {
		sql = append(sql, "ALTER TABLE "+name+" ENABLE ROW LEVEL SECURITY;")
	}
	if w.ForceRowSecurity {
		sql = append(sql, "ALTER TABLE "+name+" FORCE ROW LEVEL SECURITY;")
	}
	sql = append(sql, grants("TABLE "+name, w.Privileges, w)...)
	c.add(createTable, name, "table "+name, "is missing", sql...)

	for _, k := range sortedKeys(w.Constraints) {
		if con := w.Constraints[k]; con.Kind == "f" {
			c.add(addForeignKey, name+" "+k, constraintObject(w, con), "is missing (its table is missing)",
				addConstraintSQL(w, con))
		}
	}
	for _, k := range sortedKeys(w.Policies) {
		c.add(createPolicy, name+" "+k, policyObject(w, k), "is missing (its table is missing)",
			createPolicySQL(w, w.Policies[k], nil))
	}
	for _, k := range sortedKeys(w.Triggers) {
		c.add(createTrigger, name+" "+k, triggerObject(w, k), "is missing (its table is missing)",
			createTriggerSQL(w, w.Triggers[k])...)
	}
}

// dropTable is a table of got that want does not declare.
func (c *comparer) dropTable(g *Table) {
	name := qualified(g)
	what := "is not declared in policies.hcl (made by hand?)"
	switch {
	case !g.RowSecurity:
		what += "; it has no row-level security: every role granted access sees every row"
	case !g.ForceRowSecurity:
		what += "; row-level security is enabled but not forced: its owner sees every row"
	default:
		what += "; row-level security is enabled and forced"
	}
	c.add(dropTable, name, "table "+name, what,
		"-- Drops the table and its rows. To keep it, declare it in policies.hcl and run `pgtenant generate` instead.",
		"DROP TABLE "+name+";")
}

// table compares a table both catalogs have.
func (c *comparer) table(w, g *Table) {
	name := qualified(w)
	object := "table " + name
	c.columns(w, g)
	c.constraints(w, g)
	c.indexes(w, g)
	if w.RowSecurity != g.RowSecurity {
		if w.RowSecurity {
			c.add(rowSecurity, name+" 1", object, "row-level security is disabled",
				"ALTER TABLE "+name+" ENABLE ROW LEVEL SECURITY;")
		} else {
			c.add(rowSecurity, name+" 1", object, "row-level security is enabled, and not declared",
				"ALTER TABLE "+name+" DISABLE ROW LEVEL SECURITY;")
		}
	}
	if w.ForceRowSecurity != g.ForceRowSecurity {
		if w.ForceRowSecurity {
			c.add(rowSecurity, name+" 2", object, "row-level security is not forced: the table's owner bypasses it",
				"ALTER TABLE "+name+" FORCE ROW LEVEL SECURITY;")
		} else {
			c.add(rowSecurity, name+" 2", object, "row-level security is forced, and not declared",
				"ALTER TABLE "+name+" NO FORCE ROW LEVEL SECURITY;")
		}
	}
	c.policies(w, g)
	c.triggers(w, g)
	// The privileges on columns being dropped go with them.
	gotPrivs := slices.DeleteFunc(slices.Clone(g.Privileges), func(p Privilege) bool {
		return p.Column != "" && w.Columns[p.Column] == nil
	})
	c.privileges(name, object, "TABLE "+name, gotPrivs, w.Privileges, w)
	if w.Comment != g.Comment {
		c.add(comment, name, object, commentWhat(g.Comment, w.Comment), commentOn("TABLE "+name, w.Comment))
	}
}

func (c *comparer) columns(w, g *Table) {
	name := qualified(w)
	for _, col := range sortedColumns(w) {
		key := name + " " + col.Name
		object := "column " + name + "." + col.Name
		alter := "ALTER TABLE " + name + " ALTER COLUMN " + ddl.Ident(col.Name)
		gc := g.Columns[col.Name]
		if gc == nil {
			c.add(addColumn, key, object, "is missing", "ALTER TABLE "+name+" ADD COLUMN "+columnDef(col)+";")
			continue
		}
		if col.Comment != gc.Comment {
			c.add(comment, key, object, commentWhat(gc.Comment, col.Comment),
				commentOn("COLUMN "+name+"."+ddl.Ident(col.Name), col.Comment))
		}
		if col.Generated != gc.Generated {
			// A generation expression cannot be altered (PostgreSQL 15): the column is made again.
			c.add(alterColumn, key+" 0", object, fmt.Sprintf("is generated as %s, want %s", orNone(gc.Generated),
				orNone(col.Generated)),
				"ALTER TABLE "+name+" DROP COLUMN "+ddl.Ident(col.Name)+";",
				"ALTER TABLE "+name+" ADD COLUMN "+columnDef(col)+";")
			continue
		}
		defaultDone := false
		if col.Type != gc.Type {
			// The old default may not cast to the new type: it is dropped first and the declared one set after.
			var sql []string
			if gc.Default != "" {
				sql = append(sql, alter+" DROP DEFAULT;")
			}
			sql = append(sql, fmt.Sprintf("%s TYPE %s USING %s::%s;", alter, col.Type, ddl.Ident(col.Name), col.Type))
			if col.Default != "" {
				sql = append(sql, alter+" SET DEFAULT "+col.Default+";")
			}
			defaultDone = true
			c.add(alterColumn, key+" 1", object, fmt.Sprintf("has type %s, want %s", gc.Type, col.Type), sql...)
		}
		if col.Identity != gc.Identity {
			var sql string
			switch {
			case col.Identity == "":
				sql = alter + " DROP IDENTITY;"
			case gc.Identity == "":
				sql = alter + " ADD GENERATED " + col.Identity + " AS IDENTITY;"
			default:
				sql = alter + " SET GENERATED " + col.Identity + ";"
			}
			c.add(alterColumn, key+" 2", object, fmt.Sprintf("identity is %s, want %s", orNone(gc.Identity),
				orNone(col.Identity)), sql)
		}
		if col.NotNull != gc.NotNull {
			if col.NotNull {
				c.add(alterColumn, key+" 3", object, "is nullable, want NOT NULL", alter+" SET NOT NULL;")
			} else {
				c.add(alterColumn, key+" 3", object, "is NOT NULL, want nullable", alter+" DROP NOT NULL;")
			}
		}
		if col.Default != gc.Default && !defaultDone {
			what := fmt.Sprintf("has default %s, want %s", orNone(gc.Default), orNone(col.Default))
			if col.Default == "" {
				c.add(alterColumn, key+" 4", object, what, alter+" DROP DEFAULT;")
			} else {
				c.add(alterColumn, key+" 4", object, what, alter+" SET DEFAULT "+col.Default+";")
			}
		}
	}
	for _, k := range sortedKeys(g.Columns) {
		if w.Columns[k] == nil {
			c.add(dropColumn, name+" "+k, "column "+name+"."+k, "is not declared in policies.hcl (added by hand?)",
				"ALTER TABLE "+name+" DROP COLUMN "+ddl.Ident(k)+";")
		}
	}
}

func (c *comparer) constraints(w, g *Table) {
	name := qualified(w)
	for _, k := range sortedKeys(w.Constraints) {
		con, gc := w.Constraints[k], g.Constraints[k]
		p := addConstraint
		if con.Kind == "f" {
			p = addForeignKey
		}
		switch {
		case gc == nil:
			c.add(p, name+" "+k, constraintObject(w, con), "is missing", addConstraintSQL(w, con))
		case gc.Def != con.Def:
			c.add(p, name+" "+k, constraintObject(w, con), "is "+gc.Def+", want "+con.Def,
				"ALTER TABLE "+name+" DROP CONSTRAINT "+ddl.Ident(k)+";", addConstraintSQL(w, con))
		}
	}
	for _, k := range sortedKeys(g.Constraints) {
		if w.Constraints[k] != nil {
			continue
		}
		gc := g.Constraints[k]
		p := dropConstraint
		if gc.Kind == "f" {
			p = dropForeignKey
		}
		c.add(p, name+" "+k, constraintObject(g, gc), "is not declared in policies.hcl: "+gc.Def,
			"ALTER TABLE "+name+" DROP CONSTRAINT "+ddl.Ident(k)+";")
	}
}

func (c *comparer) indexes(w, g *Table) {
	name := qualified(w)
	drop := func(ix string) string { return "DROP INDEX " + ddl.Qualified(w.Schema, ix) + ";" }
	for _, k := range sortedKeys(w.Indexes) {
		ix, gx := w.Indexes[k], g.Indexes[k]
		object := "index " + w.Schema + "." + k + " on " + name
		switch {
		case gx == nil:
			c.add(createIndex, name+" "+k, object, "is missing", ix.Def+";")
		case gx.Def != ix.Def:
			c.add(createIndex, name+" "+k, object, "is "+gx.Def+", want "+ix.Def, drop(k), ix.Def+";")
		case gx.Valid != ix.Valid:
			c.add(createIndex, name+" "+k, object, "is invalid (a CREATE INDEX CONCURRENTLY failed)", drop(k), ix.Def+";")
		}
	}
	for _, k := range sortedKeys(g.Indexes) {
		if w.Indexes[k] == nil {
			c.add(dropIndex, name+" "+k, "index "+w.Schema+"."+k+" on "+name,
				"is not declared in policies.hcl: "+g.Indexes[k].Def, drop(k))
		}
	}
}

func (c *comparer) policies(w, g *Table) {
	name := qualified(w)
	for _, k := range sortedKeys(w.Policies) {
		p, gp := w.Policies[k], g.Policies[k]
		if gp == nil {
			c.add(createPolicy, name+" "+k, policyObject(w, k), "is missing", createPolicySQL(w, p, g))
			continue
		}
		if what := policyDiff(gp, p); what != "" {
			c.add(createPolicy, name+" "+k, policyObject(w, k), what,
				ddl.SQL(ddl.SingleNode, ddl.DropPolicy{Name: k, Table: name}), createPolicySQL(w, p, g))
		}
	}
	for _, k := range sortedKeys(g.Policies) {
		if w.Policies[k] == nil {
			c.add(dropPolicy, name+" "+k, policyObject(w, k), "is not declared in policies.hcl: "+describePolicy(g.Policies[k]),
				ddl.SQL(ddl.SingleNode, ddl.DropPolicy{Name: k, Table: name}))
		}
	}
}

// policyDiff says how got's policy differs from want's; "" when it does not.
func policyDiff(got, want *Policy) string {
	var parts []string
	if got.Permissive != want.Permissive {
		parts = append(parts, fmt.Sprintf("is %s, want %s", permissive(got), permissive(want)))
	}
	if got.Command != want.Command {
		parts = append(parts, fmt.Sprintf("is FOR %s, want FOR %s", got.Command, want.Command))
	}
	if !slices.Equal(got.Roles, want.Roles) {
		parts = append(parts, fmt.Sprintf("is TO %s, want TO %s", strings.Join(got.Roles, ", "),
			strings.Join(want.Roles, ", ")))
	}
	if got.Using != want.Using {
		parts = append(parts, fmt.Sprintf("has USING %s, want %s", orNone(got.Using), orNone(want.Using)))
	}
	if got.Check != want.Check {
		parts = append(parts, fmt.Sprintf("has WITH CHECK %s, want %s", orNone(got.Check), orNone(want.Check)))
	}
	return strings.Join(parts, "; ")
}

func describePolicy(p *Policy) string {
	s := fmt.Sprintf("%s FOR %s TO %s", permissive(p), p.Command, strings.Join(p.Roles, ", "))
	if p.Using != "" {
		s += " USING " + p.Using
	}
	if p.Check != "" {
		s += " WITH CHECK " + p.Check
	}
	return s
}

func permissive(p *Policy) string {
	if p.Permissive {
		return "PERMISSIVE"
	}
	return "RESTRICTIVE"
}

func (c *comparer) triggers(w, g *Table) {
	name := qualified(w)
	for _, k := range sortedKeys(w.Triggers) {
		tg, gt := w.Triggers[k], g.Triggers[k]
		switch {
		case gt == nil:
			c.add(createTrigger, name+" "+k, triggerObject(w, k), "is missing", createTriggerSQL(w, tg)...)
		case gt.Def != tg.Def:
			c.add(createTrigger, name+" "+k, triggerObject(w, k), "is "+gt.Def+", want "+tg.Def,
				append([]string{"DROP TRIGGER " + ddl.Ident(k) + " ON " + name + ";"}, createTriggerSQL(w, tg)...)...)
		case gt.Enabled != tg.Enabled:
			c.add(createTrigger, name+" "+k, triggerObject(w, k),
				fmt.Sprintf("is %s, want %s", triggerState(gt.Enabled), triggerState(tg.Enabled)),
				"ALTER TABLE "+name+" "+enableTrigger(tg.Enabled)+" "+ddl.Ident(k)+";")
		}
	}
	for _, k := range sortedKeys(g.Triggers) {
		if w.Triggers[k] == nil {
			c.add(dropTrigger, name+" "+k, triggerObject(w, k), "is not declared: "+g.Triggers[k].Def,
				"DROP TRIGGER "+ddl.Ident(k)+" ON "+name+";")
		}
	}
}

func createTriggerSQL(t *Table, tg *Trigger) []string {
	sql := []string{tg.Def + ";"}
	if tg.Enabled != "O" {
		sql = append(sql, "ALTER TABLE "+qualified(t)+" "+enableTrigger(tg.Enabled)+" "+ddl.Ident(tg.Name)+";")
	}
	return sql
}

func triggerState(enabled string) string {
	switch enabled {
	case "O":
		return "enabled"
	case "D":
		return "disabled"
	case "R":
		return "enabled for replicas only"
	case "A":
		return "enabled always"
	}
	return enabled
}

func enableTrigger(enabled string) string {
	switch enabled {
	case "D":
		return "DISABLE TRIGGER"
	case "R":
		return "ENABLE REPLICA TRIGGER"
	case "A":
		return "ENABLE ALWAYS TRIGGER"
	}
	return "ENABLE TRIGGER"
}

func (c *comparer) functions() {
	for _, sig := range sortedKeys(c.want.Functions) {
		w, g := c.want.Functions[sig], c.got.Functions[sig]
		object := "function " + sig
		target := "FUNCTION " + sig
		if g == nil {
			// A new function may be executed by PUBLIC: revoke that before granting what is declared.
			sql := append([]string{functionDef(w), "REVOKE ALL ON " + target + " FROM PUBLIC;"},
				grants(target, w.Privileges, nil)...)
			if w.Comment != "" {
				sql = append(sql, commentOn(target, w.Comment))
			}
			c.add(createFunction, sig, object, "is missing", sql...)
			continue
		}
		if g.Def != w.Def {
			c.add(createFunction, sig, object, "has a different definition", functionDef(w))
		}
		c.privileges(sig, object, target, g.Privileges, w.Privileges, nil)
		if w.Comment != g.Comment {
			c.add(comment, sig, object, commentWhat(g.Comment, w.Comment), commentOn(target, w.Comment))
		}
	}
	for _, sig := range sortedKeys(c.got.Functions) {
		if c.want.Functions[sig] == nil {
			c.add(dropFunction, sig, "function "+sig, "is not declared", "DROP FUNCTION "+sig+";")
		}
	}
}

// privileges compares the privileges on one object (and its columns), one difference per grantee: the REVOKEs
// of what got has and want does not, then the GRANTs of what want has and got does not. Revoking a privilege on
// a table also revokes it on every column, so the declared column privileges of that kind are granted again.
func (c *comparer) privileges(key, object, target string, got, want []Privilege, t *Table) {
	extra, missing := map[string][]Privilege{}, map[string][]Privilege{}
	for _, p := range got {
		if !slices.Contains(want, p) {
			extra[p.Grantee] = append(extra[p.Grantee], p)
		}
	}
	for _, p := range want {
		if !slices.Contains(got, p) {
			missing[p.Grantee] = append(missing[p.Grantee], p)
		}
	}
	for g, ps := range extra {
		for _, p := range ps {
			if p.Column != "" {
				continue
			}
			for _, wp := range want {
				if wp.Grantee == g && wp.Type == p.Type && wp.Column != "" && !slices.Contains(missing[g], wp) {
					missing[g] = append(missing[g], wp)
				}
			}
		}
	}
	grantees := slices.Sorted(maps.Keys(extra))
	for g := range missing {
		if extra[g] == nil {
			grantees = append(grantees, g)
		}
	}
	slices.Sort(grantees)
	for _, g := range grantees {
		var what []string
		if ps := extra[g]; len(ps) > 0 {
			what = append(what, "has "+describePrivileges(ps, t)+", not declared")
		}
		if ps := missing[g]; len(ps) > 0 {
			sortPrivileges(ps)
			what = append(what, "lacks "+describePrivileges(ps, t))
		}
		sql := append(revokes(target, extra[g], t), grants(target, missing[g], t)...)
		c.add(grant, key+" "+g, object, "role "+g+" "+strings.Join(what, "; "), sql...)
	}
}
