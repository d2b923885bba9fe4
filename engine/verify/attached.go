package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"pgtenant/engine/ddl"
	"pgtenant/engine/introspect"
	"pgtenant/schema"
)

// generated is what the migrations of a declaration create that a table can carry or call, read from the first
// migration of the declaration (ddl.Diff(nil, m)) with PostgreSQL's parser: so what is expected is exactly what
// the generator writes, with no list of its own to fall out of step.
type generated struct {
	tables    []string        // schema.name of every table the migrations create
	triggers  map[string]bool // "schema.table trigger"
	rules     map[string]bool // "schema.table rule"
	functions map[string]bool // schema.name
}

func generatedObjects(m *schema.Model) (*generated, error) {
	if err := checkFragments(m); err != nil {
		return nil, err
	}
	changes, err := ddl.Diff(nil, m)
	if err != nil {
		return nil, err
	}
	up, _ := ddl.Render(changes, ddl.SingleNode).Files()
	stmts, err := schema.ParseScript(up)
	if err != nil {
		return nil, err
	}
	g := &generated{triggers: map[string]bool{}, rules: map[string]bool{}, functions: map[string]bool{}}
	qualify := func(name string) string {
		if strings.HasPrefix(name, ".") {
			return ddl.Schema + name
		}
		return name
	}
	for _, st := range stmts {
		switch st.Kind {
		case "CreateStmt":
			g.tables = append(g.tables, qualify(st.Object))
		case "CreateTrigStmt":
			g.triggers[qualify(st.On)+" "+st.Object] = true
		case "RuleStmt":
			g.rules[qualify(st.On)+" "+st.Object] = true
		case "CreateFunctionStmt":
			g.functions[qualify(st.Object)] = true
		}
	}
	return g, nil
}

// checkAttached returns CheckAttached, read as the owner. On every table the migrations create (the declared
// tables and pgtenant's own), the triggers and the rules are exactly those the migrations create; and every
// function that a default, a constraint, a policy, a trigger, a rule or an index of those tables calls is in
// pg_catalog, belongs to an extension, or is one the migrations create.
//
// A trigger or a rule runs SQL on every write of a table as whoever writes, inside the tenant's transaction: one
// made by hand that calls set_config('app.current_tenant_id', …) moves the rest of the transaction to another
// tenant, and neither the policies nor RLS being forced show it. A function pgtenant did not create
// can do the same from a default or a policy, and pgtenant cannot see what it does: so a fragment of
// policies.hcl that calls one fails this check too. What it does not see: functions of an extension (trusted as
// the extension is), event triggers (database-wide), and what a function of pg_catalog is given to run.
func (s *session) checkAttached(ctx context.Context) Result {
	if r := s.needAdmin(CheckAttached); r != nil {
		return r[0]
	}
	g, err := generatedObjects(s.cfg.Declared)
	if err != nil {
		return failedQuery(CheckAttached, err)
	}
	c, err := s.adminCatalog(ctx)
	if err != nil {
		return failedQuery(CheckAttached, err)
	}
	// The tables the migrations create, by schema.name, in the order of their keys.
	var tables []*introspect.Table
	for _, t := range c.Tables {
		if slices.Contains(g.tables, t.Schema+"."+t.Name) {
			tables = append(tables, t)
		}
	}
	slices.SortFunc(tables, func(a, b *introspect.Table) int {
		return strings.Compare(a.Schema+"."+a.Name, b.Schema+"."+b.Name)
	})
	var problems []problem
	byTrigger := map[string]bool{} // triggers and rules reported: their functions are not reported again

	seen := map[string]bool{}
	for _, t := range tables {
		table := t.Schema + "." + t.Name
		for _, tg := range t.Triggers {
			name, fn := tg.Name, tg.Function
			key := table + " " + name
			seen[key] = true
			if g.triggers[key] {
				continue
			}
			byTrigger[table+" trigger "+name] = true
			problems = append(problems, problem{fmt.Sprintf("trigger %s on %s (EXECUTE FUNCTION %s) is not one the "+
				"migrations create: it runs on every write of the table, as the writer, inside the tenant's transaction",
				name, table, fn), fmt.Sprintf("DROP TRIGGER %s ON %s;", ddl.Ident(name), table)})
		}
	}
	for _, key := range sortedKeys(g.triggers) {
		if !seen[key] {
			table, name, _ := strings.Cut(key, " ")
			problems = append(problems, problem{fmt.Sprintf("trigger %s on %s is missing", name, table),
				"pgtenant plan (it prints the SQL that creates it again)"})
		}
	}
	for _, t := range tables {
		table := t.Schema + "." + t.Name
		for _, r := range t.Rules {
			name, def := r.Name, r.Def
			if g.rules[table+" "+name] {
				continue
			}
			byTrigger[table+" rule "+name] = true
			problems = append(problems, problem{fmt.Sprintf("rule %s on %s is not one the migrations create: %s",
				name, table, oneLine(def)), fmt.Sprintf("DROP RULE %s ON %s;", ddl.Ident(name), table)})
		}
	}
	for _, t := range tables {
		table := t.Schema + "." + t.Name
		for _, c := range t.Calls {
			if g.functions[c.Function] || byTrigger[table+" "+c.What] {
				continue
			}
			problems = append(problems, problem{fmt.Sprintf("%s of %s calls %s, which the migrations do not create "+
				"and no extension provides: pgtenant cannot see what it does (it could change the tenant setting)",
				c.What, table, c.Signature), fmt.Sprintf("take the call out of %s of %s (in policies.hcl if it is "+
				"declared there, then pgtenant generate), or review %s and make it part of an extension", c.What, table,
				c.Signature)})
		}
	}
	return result(CheckAttached, fmt.Sprintf("%d tables, %d triggers", len(g.tables), len(g.triggers)), problems)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// checkFragments refuses a declaration whose SQL fragments PostgreSQL's grammar does not read as exactly one
// expression (or type) each, or that call what a fragment may not (schema.CheckFragments): verify neither runs
// it nor reads what its migration would create from it.
func checkFragments(m *schema.Model) error {
	if d := schema.CheckFragments(m); d.HasErrors() {
		return fmt.Errorf("the declaration's SQL does not pass pgtenant validate: %w", d)
	}
	return nil
}
