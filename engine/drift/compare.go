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
	// Stmts are the typed statements that make got like want, the same ddl statements the migrations are made
	// of; SQL is what ddl.Render writes for them, each ending in ";" (and maybe -- comments).
	Stmts []ddl.Stmt
	SQL   string
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
// are dropped first (policies, triggers, foreign keys, constraints, indexes), then tables, columns, views and
// functions are created or changed, then constraints, indexes, row-level security, policies and triggers are made as
// declared, privileges and comments last; views, tables, columns and functions that are not declared are dropped
// at the very end, once nothing declared refers to them.
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
	makeView
	createFunction
	addConstraint
	addForeignKey
	createIndex
	rowSecurity
	createPolicy
	createTrigger
	grant
	comment
	dropView
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
	c.views()
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

func (c *comparer) add(p phase, key, object, what string, stmts ...ddl.Stmt) {
	c.items = append(c.items, item{phase: p, key: key, Difference: Difference{
		Object: object, What: what, Stmts: stmts, SQL: ddl.SQL(ddl.SingleNode, stmts...),
	}})
}

func (c *comparer) schemas() {
	for _, name := range sortedKeys(c.want.Schemas) {
		w, g := c.want.Schemas[name], c.got.Schemas[name]
		object := "schema " + name
		target := "SCHEMA " + ddl.Ident(name)
		if g == nil {
			sql := []ddl.Stmt{ddl.CreateSchema{Name: name}}
			if w.Comment != "" {
				sql = append(sql, ddl.Comment{On: target, Text: w.Comment})
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
			c.add(comment, name, object, commentWhat(g.Comment, w.Comment), ddl.Comment{On: target, Text: w.Comment})
		}
	}
	// A schema the declaration does not have is left alone: Read reads only the declaration's schemas.
}

// createTable is a table of want missing from got: CREATE TABLE with its columns and the constraints that refer
// to no other table, its comments, indexes, row-level security and privileges, as one difference. Its foreign
// keys, policies and triggers may refer to other tables, so they come later, each on its own.
func (c *comparer) createTable(w *Table) {
	name := qualified(w)
	ct := ddl.CreateTable{Table: name}
	for _, col := range sortedColumns(w) {
		ct.Columns = append(ct.Columns, column(col))
	}
	for _, k := range sortedKeys(w.Constraints) {
		if con := w.Constraints[k]; con.Kind != "f" {
			ct.Constraints = append(ct.Constraints, ddl.Constraint{Name: con.Name, Def: con.Def})
		}
	}
	sql := []ddl.Stmt{ct}
	if w.Comment != "" {
		sql = append(sql, ddl.Comment{On: "TABLE " + name, Text: w.Comment})
	}
	for _, col := range sortedColumns(w) {
		if col.Comment != "" {
			sql = append(sql, ddl.Comment{On: ddl.ColumnTarget(name, col.Name), Text: col.Comment})
		}
	}
	for _, k := range sortedKeys(w.Indexes) {
		sql = append(sql, ddl.Printed{SQL: w.Indexes[k].Def})
	}
	if w.RowSecurity {
		sql = append(sql, ddl.RowSecurity{Table: name, On: true})
	}
	if w.ForceRowSecurity {
		sql = append(sql, ddl.RowSecurity{Table: name, Force: true, On: true})
	}
	sql = append(sql, grants("TABLE "+name, w.Privileges, w)...)
	c.add(createTable, name, "table "+name, "is missing", sql...)

	for _, k := range sortedKeys(w.Constraints) {
		if con := w.Constraints[k]; con.Kind == "f" {
			c.add(addForeignKey, name+" "+k, constraintObject(w, con), "is missing (its table is missing)",
				constraintStmt(w, con))
		}
	}
	for _, k := range sortedKeys(w.Policies) {
		c.add(createPolicy, name+" "+k, policyObject(w, k), "is missing (its table is missing)",
			policyStmt(w, w.Policies[k], nil))
	}
	for _, k := range sortedKeys(w.Triggers) {
		c.add(createTrigger, name+" "+k, triggerObject(w, k), "is missing (its table is missing)",
			triggerStmts(w, w.Triggers[k])...)
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
		ddl.Note{Text: "Drops the table and its rows. To keep it, declare it in policies.hcl and run `pgtenant generate` instead."},
		ddl.DropTable{Table: name})
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
				ddl.RowSecurity{Table: name, On: true})
		} else {
			c.add(rowSecurity, name+" 1", object, "row-level security is enabled, and not declared",
				ddl.RowSecurity{Table: name})
		}
	}
	if w.ForceRowSecurity != g.ForceRowSecurity {
		if w.ForceRowSecurity {
			c.add(rowSecurity, name+" 2", object, "row-level security is not forced: the table's owner bypasses it",
				ddl.RowSecurity{Table: name, Force: true, On: true})
		} else {
			c.add(rowSecurity, name+" 2", object, "row-level security is forced, and not declared",
				ddl.RowSecurity{Table: name, Force: true})
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
		c.add(comment, name, object, commentWhat(g.Comment, w.Comment), ddl.Comment{On: "TABLE " + name, Text: w.Comment})
	}
}

func (c *comparer) columns(w, g *Table) {
	name := qualified(w)
	for _, col := range sortedColumns(w) {
		key := name + " " + col.Name
		object := "column " + name + "." + col.Name
		gc := g.Columns[col.Name]
		if gc == nil {
			c.add(addColumn, key, object, "is missing", ddl.AddColumn{Table: name, Column: column(col)})
			continue
		}
		if col.Comment != gc.Comment {
			c.add(comment, key, object, commentWhat(gc.Comment, col.Comment),
				ddl.Comment{On: ddl.ColumnTarget(name, col.Name), Text: col.Comment})
		}
		if col.Generated != gc.Generated {
			// A generation expression cannot be altered (PostgreSQL 15): the column is made again.
			c.add(alterColumn, key+" 0", object, fmt.Sprintf("is generated as %s, want %s", orNone(gc.Generated),
				orNone(col.Generated)),
				ddl.DropColumn{Table: name, Column: col.Name}, ddl.AddColumn{Table: name, Column: column(col)})
			continue
		}
		defaultDone := false
		if col.Type != gc.Type {
			// The old default may not cast to the new type: it is dropped first and the declared one set after.
			var sql []ddl.Stmt
			if gc.Default != "" {
				sql = append(sql, ddl.SetDefault{Table: name, Column: col.Name})
			}
			sql = append(sql, ddl.AlterColumnType{Table: name, Column: col.Name, Type: col.Type, Using: true})
			if col.Default != "" {
				sql = append(sql, ddl.SetDefault{Table: name, Column: col.Name, Default: col.Default})
			}
			defaultDone = true
			c.add(alterColumn, key+" 1", object, fmt.Sprintf("has type %s, want %s", gc.Type, col.Type), sql...)
		}
		if col.Identity != gc.Identity {
			c.add(alterColumn, key+" 2", object, fmt.Sprintf("identity is %s, want %s", orNone(gc.Identity),
				orNone(col.Identity)), ddl.SetIdentity{Table: name, Column: col.Name, Identity: col.Identity, From: gc.Identity})
		}
		if col.NotNull != gc.NotNull {
			what := "is NOT NULL, want nullable"
			if col.NotNull {
				what = "is nullable, want NOT NULL"
			}
			c.add(alterColumn, key+" 3", object, what, ddl.SetNotNull{Table: name, Column: col.Name, NotNull: col.NotNull})
		}
		if col.Default != gc.Default && !defaultDone {
			what := fmt.Sprintf("has default %s, want %s", orNone(gc.Default), orNone(col.Default))
			c.add(alterColumn, key+" 4", object, what, ddl.SetDefault{Table: name, Column: col.Name, Default: col.Default})
		}
	}
	for _, k := range sortedKeys(g.Columns) {
		if w.Columns[k] == nil {
			c.add(dropColumn, name+" "+k, "column "+name+"."+k, "is not declared in policies.hcl (added by hand?)",
				ddl.DropColumn{Table: name, Column: k})
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
			c.add(p, name+" "+k, constraintObject(w, con), "is missing", constraintStmt(w, con))
		case gc.Def != con.Def:
			c.add(p, name+" "+k, constraintObject(w, con), "is "+gc.Def+", want "+con.Def,
				ddl.DropConstraint{Table: name, Name: k}, constraintStmt(w, con))
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
			ddl.DropConstraint{Table: name, Name: k})
	}
}

func (c *comparer) indexes(w, g *Table) {
	name := qualified(w)
	drop := func(ix string) ddl.Stmt { return ddl.DropIndex{Name: ddl.Qualified(w.Schema, ix)} }
	for _, k := range sortedKeys(w.Indexes) {
		ix, gx := w.Indexes[k], g.Indexes[k]
		object := "index " + w.Schema + "." + k + " on " + name
		switch {
		case gx == nil:
			c.add(createIndex, name+" "+k, object, "is missing", ddl.Printed{SQL: ix.Def})
		case gx.Def != ix.Def:
			c.add(createIndex, name+" "+k, object, "is "+gx.Def+", want "+ix.Def, drop(k), ddl.Printed{SQL: ix.Def})
		case gx.Valid != ix.Valid:
			c.add(createIndex, name+" "+k, object, "is invalid (a CREATE INDEX CONCURRENTLY failed)", drop(k),
				ddl.Printed{SQL: ix.Def})
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
			c.add(createPolicy, name+" "+k, policyObject(w, k), "is missing", policyStmt(w, p, g))
			continue
		}
		if what := policyDiff(gp, p); what != "" {
			c.add(createPolicy, name+" "+k, policyObject(w, k), what,
				ddl.DropPolicy{Name: k, Table: name}, policyStmt(w, p, g))
		}
	}
	for _, k := range sortedKeys(g.Policies) {
		if w.Policies[k] == nil {
			c.add(dropPolicy, name+" "+k, policyObject(w, k), "is not declared in policies.hcl: "+describePolicy(g.Policies[k]),
				ddl.DropPolicy{Name: k, Table: name})
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
			c.add(createTrigger, name+" "+k, triggerObject(w, k), "is missing", triggerStmts(w, tg)...)
		case gt.Def != tg.Def:
			c.add(createTrigger, name+" "+k, triggerObject(w, k), "is "+gt.Def+", want "+tg.Def,
				append([]ddl.Stmt{ddl.DropTrigger{Name: k, Table: name}}, triggerStmts(w, tg)...)...)
		case gt.Enabled != tg.Enabled:
			c.add(createTrigger, name+" "+k, triggerObject(w, k),
				fmt.Sprintf("is %s, want %s", triggerState(gt.Enabled), triggerState(tg.Enabled)),
				ddl.SetTrigger{Name: k, Table: name, State: tg.Enabled})
		}
	}
	for _, k := range sortedKeys(g.Triggers) {
		if w.Triggers[k] == nil {
			c.add(dropTrigger, name+" "+k, triggerObject(w, k), "is not declared: "+g.Triggers[k].Def,
				ddl.DropTrigger{Name: k, Table: name})
		}
	}
}

// triggerStmts is the trigger as PostgreSQL prints it, with its state when that is not the default.
func triggerStmts(t *Table, tg *Trigger) []ddl.Stmt {
	sql := []ddl.Stmt{ddl.Printed{SQL: tg.Def}}
	if tg.Enabled != "O" {
		sql = append(sql, ddl.SetTrigger{Name: tg.Name, Table: qualified(t), State: tg.Enabled})
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

func (c *comparer) functions() {
	for _, sig := range sortedKeys(c.want.Functions) {
		w, g := c.want.Functions[sig], c.got.Functions[sig]
		object := "function " + sig
		target := "FUNCTION " + sig
		if g == nil {
			// A new function may be executed by PUBLIC: revoke that before granting what is declared.
			sql := append([]ddl.Stmt{ddl.Printed{SQL: w.Def}, ddl.Revoke{On: target, From: []ddl.Role{ddl.PublicRole}}},
				grants(target, w.Privileges, nil)...)
			if w.Comment != "" {
				sql = append(sql, ddl.Comment{On: target, Text: w.Comment})
			}
			c.add(createFunction, sig, object, "is missing", sql...)
			continue
		}
		if g.Def != w.Def {
			c.add(createFunction, sig, object, "has a different definition", ddl.Printed{SQL: w.Def})
		}
		c.privileges(sig, object, target, g.Privileges, w.Privileges, nil)
		if w.Comment != g.Comment {
			c.add(comment, sig, object, commentWhat(g.Comment, w.Comment), ddl.Comment{On: target, Text: w.Comment})
		}
	}
	for _, sig := range sortedKeys(c.got.Functions) {
		if c.want.Functions[sig] == nil {
			c.add(dropFunction, sig, "function "+sig, "is not declared", ddl.DropFunction{Signature: sig})
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
