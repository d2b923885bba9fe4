package ddl

import (
	"fmt"

	"pgtenant/schema"
)

// GeneratorVersion names the generation of the SQL this package writes for a model. It is recorded in
// migrations/schema.json beside the model and the rendered objects (Objects); raise it whenever a change of this
// package changes the SQL of an object a model already had (a policy's text, a new generated policy), so that a
// reader of schema.json can tell which pgtenant wrote the database's objects. The migration that brings an older
// deployment up to date is planned from the objects themselves (Upgrade), not from the number.
const GeneratorVersion = 2

// Object is one generated object whose SQL the generator may change between versions while the declaration stays
// the same: a row-level security policy, as CREATE POLICY. migrations/schema.json records the objects as the
// migrations created them, so that `pgtenant generate` can tell when this pgtenant would write one differently.
type Object struct {
	Kind  string `json:"kind"`  // "policy"
	Table string `json:"table"` // the table it is on, qualified and quoted as SQL: public.content_tag
	Name  string `json:"name"`
	SQL   string `json:"sql"` // the statement that creates it, as the generator wrote it

	create Stmt // the statement SQL was rendered from; nil for an object read from schema.json
}

func (o Object) key() string { return o.Kind + " " + o.Name + " on " + o.Table }

// drop is the statement that removes the object.
func (o Object) drop() Stmt { return DropPolicy{Name: o.Name, Table: o.Table} }

// createStmt is the statement that creates the object: the typed one, or the recorded SQL.
func (o Object) createStmt() Stmt {
	if o.create != nil {
		return o.create
	}
	return Recorded{SQL: o.SQL}
}

func policyObject(p *schema.Policy, table string) Object {
	s := PolicyStmt(p, table)
	return Object{Kind: "policy", Table: table, Name: p.Name, SQL: SQL(SingleNode, s), create: s}
}

// Objects returns the generated objects of m, in the order the first migration creates them: every policy of
// every declared table (Policies) and the audit log's tenant policies.
func Objects(m *schema.Model) []Object {
	var out []Object
	for _, t := range m.Tables {
		for _, p := range Policies(m, t) {
			out = append(out, policyObject(p, TableName(t)))
		}
	}
	for _, p := range auditPolicies(m) {
		out = append(out, policyObject(p, auditTable))
	}
	return out
}

// Upgrade returns the changes that take a database whose objects were created as recorded (what schema.json
// says the migrations wrote) to the objects this generator writes for the same model (current, Objects): a
// policy whose text changed is dropped and created again, a policy the generator no longer writes is dropped,
// and a new one is created. The down changes restore the recorded text. Equal lists give no changes.
func Upgrade(recorded, current []Object) []Change {
	cur := map[string]Object{}
	for _, o := range current {
		cur[o.key()] = o
	}
	rec := map[string]Object{}
	var out []Change
	for _, o := range recorded {
		rec[o.key()] = o
		if _, ok := cur[o.key()]; !ok {
			out = append(out, Change{Object: o.Kind + " " + o.Name,
				Comment: fmt.Sprintf("Generator upgrade: %s %s on %s is no longer generated.", o.Kind, o.Name, o.Table),
				Up:      []Stmt{o.drop()}, Down: []Stmt{o.createStmt()}})
		}
	}
	for _, o := range current {
		r, ok := rec[o.key()]
		switch {
		case !ok:
			out = append(out, Change{Object: o.Kind + " " + o.Name,
				Comment: fmt.Sprintf("Generator upgrade: %s %s on %s is new in this pgtenant.", o.Kind, o.Name, o.Table),
				Up:      []Stmt{o.createStmt()}, Down: []Stmt{o.drop()}})
		case r.SQL != o.SQL:
			out = append(out, Change{Object: o.Kind + " " + o.Name,
				Comment: fmt.Sprintf("Generator upgrade: %s %s on %s, as this pgtenant writes it. The declaration did not change.",
					o.Kind, o.Name, o.Table),
				Up: []Stmt{o.drop(), o.createStmt()}, Down: []Stmt{o.drop(), r.createStmt()}})
		}
	}
	return out
}
