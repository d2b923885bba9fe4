package ddl

import (
	"fmt"
	"slices"
	"strings"

	"pgtenant/schema"
)

// This file plans the declared views and functions: created after the tables and policies they read, views
// before functions (a function may return a view's rows; a view may not call a declared function), each view
// after the views its query reads; dropped in the reverse order.

// ViewName is the qualified name of a declared view.
func ViewName(v *schema.View) string { return Qualified(Schema, v.Name) }

// FunctionName is the qualified name of a declared function.
func FunctionName(f *schema.Function) string { return Qualified(Schema, f.Name) }

// FunctionSignature is how DROP FUNCTION, GRANT and COMMENT name a declared function: its name and argument
// types.
func FunctionSignature(f *schema.Function) string {
	types := make([]string, len(f.Args))
	for i, a := range f.Args {
		types[i] = a.Type
	}
	return FunctionName(f) + "(" + strings.Join(types, ", ") + ")"
}

// returns writes what a function returns as SQL.
func returns(m *schema.Model, f *schema.Function) string {
	r := f.Returns
	var t string
	switch {
	case r.Void:
		return "void"
	case r.Relation != "":
		t = Qualified(Schema, r.Relation)
	default:
		t = r.Type
	}
	if r.SetOf {
		return "SETOF " + t
	}
	return t
}

// viewStmts are the statements that create v with its grants and comments; with old, the view it replaces, they
// replace it (CREATE OR REPLACE), revoke what old granted first and remove the comments v no longer has.
func viewStmts(v, old *schema.View) []Stmt {
	name := ViewName(v)
	replace := old != nil
	out := []Stmt{CreateView{View: name, Query: v.Query, Replace: replace}}
	if replace && len(old.To) > 0 {
		out = append(out, Revoke{On: "TABLE " + name, From: Roles(old.To...)})
	}
	if len(v.To) > 0 {
		out = append(out, Grant{Privileges: []Privilege{{Type: "SELECT"}}, On: "TABLE " + name, To: Roles(v.To...)})
	}
	if v.Comment != "" || replace && old.Comment != "" {
		out = append(out, Comment{On: "VIEW " + name, Text: v.Comment})
	}
	for _, c := range v.Columns {
		was := ""
		if replace && old.Column(c.Name) != nil {
			was = old.Column(c.Name).Comment
		}
		if c.Comment != "" || was != "" {
			out = append(out, Comment{On: ColumnTarget(name, c.Name), Text: c.Comment})
		}
	}
	return out
}

// functionStmts are the statements that create f: EXECUTE revoked from PUBLIC and granted to the declared roles,
// and its comment. With old, the function it replaces, they replace it (CREATE OR REPLACE), revoke EXECUTE from
// old's roles first and remove a comment f no longer has.
func functionStmts(m *schema.Model, f, old *schema.Function) []Stmt {
	replace := old != nil
	var revoke []string
	if replace {
		revoke = old.To
	}
	cf := CreateFunction{Function: FunctionName(f), Returns: returns(m, f), Language: f.Language,
		Volatility: f.Volatility, Body: f.Body, Replace: replace}
	for _, a := range f.Args {
		cf.Args = append(cf.Args, FunctionArg{Name: a.Name, Type: a.Type, Default: a.Default})
	}
	on := "FUNCTION " + FunctionSignature(f)
	out := []Stmt{cf, Revoke{Privileges: []Privilege{{Type: "EXECUTE"}}, On: on, From: append([]Role{PublicRole}, Roles(revoke...)...)}}
	if len(f.To) > 0 {
		out = append(out, Grant{Privileges: []Privilege{{Type: "EXECUTE"}}, On: on, To: Roles(f.To...)})
	}
	if f.Comment != "" || replace && old.Comment != "" {
		out = append(out, Comment{On: on, Text: f.Comment})
	}
	return out
}

func createView(v *schema.View) Change {
	return Change{Object: "view " + v.Name,
		Comment: fmt.Sprintf("View %s, read as the caller (security_invoker): the row-level security of every table it\n"+
			"reads applies to whoever queries it. security_barrier: a caller's filter never runs before the view's own.", v.Name),
		Up: viewStmts(v, nil), Down: []Stmt{DropView{View: ViewName(v)}}}
}

func createFunction(m *schema.Model, f *schema.Function) Change {
	return Change{Object: "function " + f.Name,
		Comment: fmt.Sprintf("Function %s, run as the caller (SECURITY INVOKER) under the row-level security of every\n"+
			"table it touches, with a fixed search_path. Only the declared roles may execute it.", f.Name),
		Up: functionStmts(m, f, nil), Down: []Stmt{DropFunction{Signature: FunctionSignature(f)}}}
}

// viewOrder orders views so that each comes after the views its query reads, keeping declaration order where it
// is free.
func viewOrder(views []*schema.View) []*schema.View {
	remaining := slices.Clone(views)
	var order []*schema.View
	done := map[string]bool{}
	for len(remaining) > 0 {
		i := slices.IndexFunc(remaining, func(v *schema.View) bool {
			for _, r := range v.Reads() {
				if r != v.Name && !done[r] && slices.ContainsFunc(remaining, func(o *schema.View) bool { return o.Name == r }) {
					return false
				}
			}
			return true
		})
		if i < 0 {
			i = 0 // a cycle PostgreSQL refuses anyway
		}
		order = append(order, remaining[i])
		done[remaining[i].Name] = true
		remaining = slices.Delete(remaining, i, i+1)
	}
	return order
}

// routines are the changes that create m's views and functions, in order.
func routines(m *schema.Model) []Change {
	var out []Change
	for _, v := range viewOrder(m.Views) {
		out = append(out, createView(v))
	}
	for _, f := range m.Functions {
		out = append(out, createFunction(m, f))
	}
	return out
}

// viewColumnsPrefix reports whether b begins with a's columns: the same names and types, in order.
func viewColumnsPrefix(a, b []*schema.ViewColumn) bool {
	if len(a) > len(b) {
		return false
	}
	for i, c := range a {
		if c.Name != b[i].Name || schema.CanonicalType(c.Type) != schema.CanonicalType(b[i].Type) {
			return false
		}
	}
	return true
}

// sameSignature reports whether CREATE OR REPLACE can turn function a into b: the same arguments (names, types,
// defaults) and the same return type.
func sameSignature(m, n *schema.Model, a, b *schema.Function) bool {
	if len(a.Args) != len(b.Args) || returns(m, a) != returns(n, b) {
		return false
	}
	for i, x := range a.Args {
		y := b.Args[i]
		if x.Name != y.Name || schema.CanonicalType(x.Type) != schema.CanonicalType(y.Type) || x.Default != y.Default {
			return false
		}
	}
	return true
}

// routinePlan is what an incremental migration does with the views and functions: recreate holds the ones
// dropped before the tables change and created after ("view x", "function y"), replace the ones replaced in
// place at the end.
type routinePlan struct {
	recreate map[string]bool
	replace  map[string]bool
}

// tableTouched reports whether a table changes in a way a view reading it or a function returning its rows cannot
// outlive: dropped (or recreated), or one of its columns dropped or retyped.
func (d *differ) tableTouched(name string) bool {
	o := d.old.Table(name)
	if o == nil {
		return false
	}
	if !d.kept[name] {
		return true
	}
	n := d.next.Table(name)
	for _, c := range o.Columns {
		if n.Column(c.Name) == nil || d.retyped[name+"."+c.Name] {
			return true
		}
	}
	return false
}

// viewHasDependents reports whether a function of old returns the rows of view name, or a view of old reads it.
func (d *differ) viewHasDependents(name string) bool {
	return slices.ContainsFunc(d.old.Functions, func(f *schema.Function) bool { return f.Returns.Relation == name }) ||
		slices.ContainsFunc(d.old.Views, func(v *schema.View) bool { return v.Name != name && slices.Contains(v.Reads(), name) })
}

func (d *differ) planRoutines() {
	p := routinePlan{recreate: map[string]bool{}, replace: map[string]bool{}}
	viewChanged := func(o *schema.View) bool {
		n := d.next.View(o.Name)
		return n == nil || !same(viewStmts(o, nil), viewStmts(n, nil))
	}
	for _, o := range d.old.Views {
		n := d.next.View(o.Name)
		touched := slices.ContainsFunc(o.Reads(), d.tableTouched)
		switch {
		case n == nil:
			p.recreate["view "+o.Name] = true
		case touched || viewChanged(o) && (d.renamed || !viewColumnsPrefix(o.Columns, n.Columns)):
			p.recreate["view "+o.Name] = true
		case viewChanged(o) && len(o.Columns) != len(n.Columns) && d.viewHasDependents(o.Name):
			// New columns come last in place, but the down migration must drop the view to take them away again,
			// which what depends on it would refuse: recreated, with its dependents.
			p.recreate["view "+o.Name] = true
		case viewChanged(o):
			p.replace["view "+o.Name] = true
		}
	}
	for _, o := range d.old.Functions {
		n := d.next.Function(o.Name)
		switch {
		case n == nil || !sameSignature(d.old, d.next, o, n) || d.tableTouched(o.Returns.Relation):
			p.recreate["function "+o.Name] = true
		case !same(functionStmts(d.old, o, nil), functionStmts(d.next, n, nil)):
			// A body is not bound to what it names: PostgreSQL checks an sql body as it creates the function. Its
			// old text, put back early in the down migration, may name a column or table that only comes back
			// later in it: with such a change in the migration, the function is recreated instead.
			if d.renamed || slices.ContainsFunc(d.old.Tables, func(t *schema.Table) bool { return d.tableTouched(t.Name) }) {
				p.recreate["function "+o.Name] = true
			} else {
				p.replace["function "+o.Name] = true
			}
		}
	}
	// What depends on a recreated view goes with it: the views that read it, the functions that return its rows.
	for changed := true; changed; {
		changed = false
		for _, o := range d.old.Views {
			if p.recreate["view "+o.Name] {
				continue
			}
			for _, r := range o.Reads() {
				if p.recreate["view "+r] {
					p.recreate["view "+o.Name], changed = true, true
					delete(p.replace, "view "+o.Name)
					break
				}
			}
		}
	}
	for _, o := range d.old.Functions {
		if p.recreate["view "+o.Returns.Relation] {
			p.recreate["function "+o.Name] = true
			delete(p.replace, "function "+o.Name)
		}
	}
	d.routines = p
}

// dropRoutines drops, before any table changes, the functions and views that are gone or recreated: functions
// first, then views, readers before what they read. Their changes come first in the migration, before the renames:
// so the down migration creates them again last, once the tables and columns have their old names back, which
// their old text names. (With renames, a view or function that changes is recreated rather than replaced for the
// same reason: its old text could not be put back in place while the new names stand.)
func (d *differ) dropRoutines() {
	before := d.out
	d.out = nil
	defer func() { d.out = append(d.out, before...) }()
	for i := len(d.old.Functions) - 1; i >= 0; i-- {
		f := d.old.Functions[i]
		if !d.routines.recreate["function "+f.Name] {
			continue
		}
		c := createFunction(d.old, f)
		name := ""
		if d.next.Function(f.Name) == nil {
			name = "drop_function_" + f.Name
		}
		d.add(name, "", Change{Object: c.Object, Comment: fmt.Sprintf("Function %s: dropped (it is gone, or changes "+
			"in a way CREATE OR REPLACE cannot do, or what it returns changes).", f.Name), Up: c.Down, Down: c.Up})
	}
	order := viewOrder(d.old.Views)
	for i := len(order) - 1; i >= 0; i-- {
		v := order[i]
		if !d.routines.recreate["view "+v.Name] {
			continue
		}
		c := createView(v)
		name := ""
		if d.next.View(v.Name) == nil {
			name = "drop_view_" + v.Name
		}
		d.add(name, "", Change{Object: c.Object, Comment: fmt.Sprintf("View %s: dropped (it is gone, or its columns "+
			"change, or a table or view it reads changes).", v.Name), Up: c.Down, Down: c.Up})
	}
}

// createRoutines creates, after everything else, the views and functions that are new or recreated, and replaces
// in place (CREATE OR REPLACE, both ways) those whose columns or signature allow it.
func (d *differ) createRoutines() {
	for _, v := range viewOrder(d.next.Views) {
		o := d.old.View(v.Name)
		switch {
		case o == nil || d.routines.recreate["view "+v.Name]:
			name := "add_view_" + v.Name
			if o != nil {
				name = "change_view_" + v.Name
			}
			d.add(name, "", createView(v))
		case d.routines.replace["view "+v.Name]:
			down := viewStmts(o, v)
			if len(o.Columns) != len(v.Columns) {
				// CREATE OR REPLACE cannot take columns away: the down migration drops the view and creates it again.
				down = append([]Stmt{DropView{View: ViewName(o)}}, viewStmts(o, nil)...)
			}
			d.add("change_view_"+v.Name, "", Change{Object: "view " + v.Name,
				Comment: fmt.Sprintf("View %s changes: CREATE OR REPLACE (its columns stay, new ones come last).", v.Name),
				Up:      viewStmts(v, o), Down: down})
		}
	}
	for _, f := range d.next.Functions {
		o := d.old.Function(f.Name)
		switch {
		case o == nil || d.routines.recreate["function "+f.Name]:
			name := "add_function_" + f.Name
			if o != nil {
				name = "change_function_" + f.Name
			}
			d.add(name, "", createFunction(d.next, f))
		case d.routines.replace["function "+f.Name]:
			d.add("change_function_"+f.Name, "", Change{Object: "function " + f.Name,
				Comment: fmt.Sprintf("Function %s changes: CREATE OR REPLACE (same arguments and return type).", f.Name),
				Up:      functionStmts(d.next, f, o), Down: functionStmts(d.old, o, f)})
		}
	}
}
