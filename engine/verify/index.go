package verify

import (
	"context"
	"fmt"
	"strings"

	"pgtenant/engine/ddl"
	"pgtenant/engine/introspect"
)

// liveTenantTables lists the tables of public that have the tenant column col, declared or not.
func liveTenantTables(c *introspect.Catalog, col string) []*introspect.Table {
	var out []*introspect.Table
	for _, t := range c.Tables {
		if t.Schema == ddl.Schema && t.Column(col) != nil {
			out = append(out, t)
		}
	}
	return out
}

// badIndex is an index of a table of public with the tenant column whose first key is not that column (an
// expression counts as not), with the constraint the index backs, if any.
type badIndex struct{ table, index, def, constraint string }

func badIndexes(c *introspect.Catalog, col string) []badIndex {
	var out []badIndex
	for _, t := range liveTenantTables(c, col) {
		tc := t.Column(col)
		for _, ix := range t.Indexes {
			if len(ix.Keys) == 0 || int(ix.Keys[0]) != tc.Position {
				out = append(out, badIndex{t.Name, ix.Name, ix.Def, ix.Constraint})
			}
		}
	}
	return out
}

// badForeignKey is a foreign key between two tables that both have the tenant column, from a table of public,
// that does not pair the tenant columns first on both sides.
type badForeignKey struct {
	table string
	fk    *introspect.Constraint
}

func badForeignKeys(c *introspect.Catalog, col string) []badForeignKey {
	var out []badForeignKey
	for _, t := range liveTenantTables(c, col) {
		tc := t.Column(col)
		for _, k := range t.Constraints {
			if k.Kind != "f" {
				continue
			}
			ref := c.Table(k.RefSchema, k.RefTable)
			if ref == nil || ref.Column(col) == nil {
				continue
			}
			if len(k.Keys) == 0 || len(k.RefKeys) == 0 || int(k.Keys[0]) != tc.Position || int(k.RefKeys[0]) != ref.Column(col).Position {
				out = append(out, badForeignKey{t.Name, k})
			}
		}
	}
	return out
}

// checkIndexes returns CheckIndexes, read from the catalog (introspect.Read) as the owner, over every table of public with the
// tenant column (declared or not):
//
//   - every index, including those of primary keys and unique constraints, leads with the tenant column: the
//     tenant's rows are one range of it (the policy predicate and the API's own tenant filter use it), and a
//     unique index without it would make one tenant's values collide with another's and reveal them;
//   - every foreign key between two such tables pairs the tenant columns first, on both sides: one that does not
//     lets a row reference another tenant's row (PostgreSQL checks foreign keys without row-level security).
func (s *session) checkIndexes(ctx context.Context) Result {
	if r := s.needAdmin(CheckIndexes); r != nil {
		return r[0]
	}
	col := s.cfg.Declared.Tenancy.Column
	var problems []problem
	c, err := s.adminCatalog(ctx)
	if err != nil {
		return failedQuery(CheckIndexes, err)
	}
	for _, b := range badIndexes(c, col) {
		p := problem{detail: fmt.Sprintf("index %s on %s does not lead with %s", b.index, qualified(b.table), col)}
		switch {
		case b.constraint != "":
			p.fix = fmt.Sprintf("recreate constraint %s of %s with %s as its first column", ddl.Ident(b.constraint),
				qualified(b.table), ddl.Ident(col))
		default:
			p.fix = fmt.Sprintf("DROP INDEX %s; %s;", qualified(b.index), leadWith(b.def, col))
		}
		problems = append(problems, p)
	}
	for _, b := range badForeignKeys(c, col) {
		t := qualified(b.table)
		ref := ddl.Qualified(b.fk.RefSchema, b.fk.RefTable)
		def, constraint := b.fk.Def, b.fk.Name
		rest := ""
		if i := strings.Index(def, " REFERENCES "); i >= 0 {
			if j := strings.Index(def[i:], ")"); j >= 0 {
				rest = def[i+j+1:]
			}
		}
		problems = append(problems, problem{
			fmt.Sprintf("foreign key %s of %s references %s without pairing %s first: a row can reference "+
				"another tenant's row", constraint, t, ref, col),
			fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s, ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s)%s;",
				t, ddl.Ident(constraint), ddl.Ident(constraint), ddl.Idents(leading(col, b.fk.Columns)), ref,
				ddl.Idents(leading(col, b.fk.RefColumns)), rest)})
	}
	return result(CheckIndexes, "", problems)
}

// leading returns cols with col moved (or added) to the front.
func leading(col string, cols []string) []string {
	out := []string{col}
	for _, c := range cols {
		if c != col {
			out = append(out, c)
		}
	}
	return out
}

// leadWith rewrites pg_get_indexdef's "CREATE INDEX x ON t USING btree (a, b) …" to lead with col.
func leadWith(def, col string) string {
	i := strings.Index(def, " USING ")
	if i < 0 {
		return def
	}
	j := strings.Index(def[i:], "(")
	if j < 0 {
		return def
	}
	at := i + j + 1
	return def[:at] + ddl.Ident(col) + ", " + def[at:]
}
