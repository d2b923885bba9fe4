package ddl

import (
	"encoding/json"
	"maps"
	"slices"

	"pgtenant/schema"
)

// Change is one step of a migration: the typed statements that do it, the statements that exactly undo it, and
// a comment for the DBA who reviews it. Render writes their SQL.
type Change struct {
	// Object names what the change is about, as "table x", "policy y",
	// "role z" or "schema s", so that a database error can be traced back to
	// the declaration.
	Object  string
	Comment string
	Up      []Stmt
	Down    []Stmt
	// Destructive says why the change can lose data (a dropped table or column, a narrowing type change); ""
	// when it cannot. `pgtenant generate` refuses such changes without --allow-destructive.
	Destructive string
}

// Diff returns the typed changes that take a database from prev to next, in the one order they must run
// (dependencies first), like Atlas's schema changes; Render writes them as SQL for a Target. A nil prev is an empty database, which gets the roles,
// the tenant registry, every table and every policy, then the views and functions (routine.go). Equal models give no
// changes. Otherwise it is Incremental with default options.
func Diff(prev, next *schema.Model) ([]Change, error) {
	if prev != nil {
		mig, err := Incremental(prev, next, Options{})
		if err != nil {
			return nil, err
		}
		return mig.Changes, nil
	}
	var out []Change
	for _, r := range next.Roles {
		out = append(out, createRole(next, r))
	}
	out = append(out, registry(next)...)
	order, deferred, anchor := citusOrder(next, next.Tables, nil)
	for _, t := range order {
		out = append(out, createTable(next, t, deferred, anchor))
	}
	for _, t := range order {
		for _, fk := range t.ForeignKeys {
			if deferred[fk] {
				out = append(out, addForeignKey(next, t, fk))
			}
		}
	}
	for _, p := range next.Policies {
		if declaredApart(next, next.Table(p.Table)) {
			out = append(out, createPolicy(next, p))
		}
	}
	return append(out, routines(next)...), nil
}

// Equal reports whether two models declare the same database.
func Equal(a, b *schema.Model) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && slices.Equal(ja, jb)
}

// createOrder orders tables so that each is created after the tables its
// foreign keys reference, keeping declaration order where it is free. Tables
// in exist are already there. When tables reference each other in a cycle,
// the foreign keys that point forward are returned as deferred: they are
// added once both tables exist.
func createOrder(tables []*schema.Table, exist map[string]bool) ([]*schema.Table, map[*schema.ForeignKey]bool) {
	done := maps.Clone(exist)
	if done == nil {
		done = map[string]bool{}
	}
	deferred := map[*schema.ForeignKey]bool{}
	remaining := slices.Clone(tables)
	var order []*schema.Table
	ready := func(t *schema.Table) bool {
		for _, fk := range t.ForeignKeys {
			if fk.RefTable != t.Name && !done[fk.RefTable] {
				return false
			}
		}
		return true
	}
	for len(remaining) > 0 {
		i := slices.IndexFunc(remaining, ready)
		if i < 0 {
			i = 0 // a cycle: create the first table now and defer what it cannot reference yet
			for _, fk := range remaining[0].ForeignKeys {
				if fk.RefTable != remaining[0].Name && !done[fk.RefTable] {
					deferred[fk] = true
				}
			}
		}
		t := remaining[i]
		order = append(order, t)
		done[t.Name] = true
		remaining = slices.Delete(remaining, i, i+1)
	}
	return order, deferred
}
