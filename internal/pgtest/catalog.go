package pgtest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"pgtenant/engine/introspect"
)

// Catalog returns a sorted, line-per-object description of the database's
// own objects (introspect.Read), for comparing a database before and after
// migrations: schemas, relations with their RLS flags, columns, constraints,
// indexes, policies, triggers, rules, functions, privileges and comments.
// Roles are left out (they are cluster-wide), and so is golang-migrate's own
// schema_migrations table.
func Catalog(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	c, err := introspect.Read(t.Context(), pool)
	if err != nil {
		t.Fatalf("pgtest: catalog: %v", err)
	}
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	grants := func(ps []introspect.Privilege) string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = fmt.Sprintf("%s:%s/%s:%t", p.Grantee, p.Column, p.Type, p.Grantable)
		}
		return strings.Join(out, ",")
	}
	for _, s := range c.Schemas {
		add("schema %s comment=%q acl=%s", s.Name, s.Comment, grants(s.Privileges))
	}
	for _, r := range c.Relations {
		if !strings.HasPrefix(r.Name, "schema_migrations") {
			add("relation %s.%s kind=%s acl=%s", r.Schema, r.Name, r.Kind, grants(r.Privileges))
		}
	}
	for _, t := range c.Tables {
		if t.Name == "schema_migrations" {
			continue
		}
		name := t.Schema + "." + t.Name
		add("relation %s partitioned=%t rls=%t force=%t comment=%q acl=%s", name, t.Partitioned, t.RowSecurity,
			t.ForceRowSecurity, t.Comment, grants(t.Privileges))
		for _, col := range t.Columns {
			add("column %s.%s %s notnull=%t default=%s identity=%s generated=%s comment=%q", name, col.Name, col.Type,
				col.NotNull, col.Default, col.Identity, col.Generated, col.Comment)
		}
		for _, k := range t.Constraints {
			add("constraint %s %s %s", name, k.Name, k.Def)
		}
		for _, ix := range t.Indexes {
			add("index %s valid=%t", ix.Def, ix.Valid)
		}
		for _, p := range t.Policies {
			add("policy %s %s permissive=%t %s roles=%v using=%s check=%s", name, p.Name, p.Permissive, p.Command,
				p.Roles, p.Using, p.Check)
		}
		for _, g := range t.Triggers {
			add("trigger %s %s enabled=%s", name, g.Def, g.Enabled)
		}
		for _, r := range t.Rules {
			add("rule %s %s", name, r.Def)
		}
	}
	for _, f := range c.Functions {
		add("function %s comment=%q acl=%s", f.Signature, f.Comment, grants(f.Privileges))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// ExecScript runs a multi-statement SQL script in one implicit transaction,
// as `psql --single-transaction` would.
func ExecScript(t testing.TB, pool *pgxpool.Pool, script string) {
	t.Helper()
	// With no arguments pgx sends the simple protocol, where a multi-statement
	// string runs as one implicit transaction.
	if _, err := pool.Exec(t.Context(), script); err != nil {
		t.Fatalf("pgtest: exec script: %v", err)
	}
}
