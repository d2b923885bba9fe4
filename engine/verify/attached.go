package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/ddl"
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

// The catalog reads of checkAttached; $1 is the schema.name of the tables to read.
const (
	triggersQuery = `SELECT n.nspname || '.' || c.relname, t.tgname::text,
       pn.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
 WHERE NOT t.tgisinternal AND n.nspname || '.' || c.relname = ANY ($1)
 ORDER BY 1, 2`

	rulesQuery = `SELECT n.nspname || '.' || c.relname, r.rulename::text, pg_catalog.pg_get_ruledef(r.oid)
  FROM pg_catalog.pg_rewrite r
  JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE r.rulename <> '_RETURN' AND n.nspname || '.' || c.relname = ANY ($1)
 ORDER BY 1, 2`

	// functionsQuery lists the functions that what the tables carry depends on (PostgreSQL records a dependency
	// on every function a default, a constraint, a policy, a trigger, a rule or an index calls), but for those of
	// pg_catalog and information_schema and those that belong to an extension.
	functionsQuery = `WITH t AS (
  SELECT c.oid, n.nspname || '.' || c.relname AS name
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname || '.' || c.relname = ANY ($1)
), o AS (
  SELECT 'pg_catalog.pg_attrdef'::pg_catalog.regclass AS classid, d.oid AS objid, t.name, 'the default of column ' || a.attname AS what
    FROM pg_catalog.pg_attrdef d JOIN t ON t.oid = d.adrelid
    JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
  UNION ALL SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, k.oid, t.name, 'constraint ' || k.conname
    FROM pg_catalog.pg_constraint k JOIN t ON t.oid = k.conrelid
  UNION ALL SELECT 'pg_catalog.pg_policy'::pg_catalog.regclass, p.oid, t.name, 'policy ' || p.polname
    FROM pg_catalog.pg_policy p JOIN t ON t.oid = p.polrelid
  UNION ALL SELECT 'pg_catalog.pg_trigger'::pg_catalog.regclass, g.oid, t.name, 'trigger ' || g.tgname
    FROM pg_catalog.pg_trigger g JOIN t ON t.oid = g.tgrelid WHERE NOT g.tgisinternal
  UNION ALL SELECT 'pg_catalog.pg_rewrite'::pg_catalog.regclass, r.oid, t.name, 'rule ' || r.rulename
    FROM pg_catalog.pg_rewrite r JOIN t ON t.oid = r.ev_class
  UNION ALL SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, i.indexrelid, t.name, 'index ' || ic.relname
    FROM pg_catalog.pg_index i JOIN t ON t.oid = i.indrelid JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
)
SELECT DISTINCT o.name, o.what, pn.nspname || '.' || p.proname,
       pn.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'
  FROM o
  JOIN pg_catalog.pg_depend d ON d.classid = o.classid AND d.objid = o.objid
   AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid
  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
 WHERE pn.nspname NOT IN ('pg_catalog', 'information_schema')
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                      AND e.objid = p.oid AND e.deptype = 'e')
 ORDER BY 1, 2, 3`
)

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
	var problems []problem
	byTrigger := map[string]bool{} // triggers and rules reported: their functions are not reported again

	seen := map[string]bool{}
	err = eachRow(ctx, s.admin, triggersQuery, g.tables, func(table, name, fn string) {
		key := table + " " + name
		seen[key] = true
		if g.triggers[key] {
			return
		}
		byTrigger[table+" trigger "+name] = true
		problems = append(problems, problem{fmt.Sprintf("trigger %s on %s (EXECUTE FUNCTION %s) is not one the "+
			"migrations create: it runs on every write of the table, as the writer, inside the tenant's transaction",
			name, table, fn), fmt.Sprintf("DROP TRIGGER %s ON %s;", ddl.Ident(name), table)})
	})
	if err != nil {
		return failedQuery(CheckAttached, err)
	}
	for _, key := range sortedKeys(g.triggers) {
		if !seen[key] {
			table, name, _ := strings.Cut(key, " ")
			problems = append(problems, problem{fmt.Sprintf("trigger %s on %s is missing", name, table),
				"pgtenant plan (it prints the SQL that creates it again)"})
		}
	}
	err = eachRow(ctx, s.admin, rulesQuery, g.tables, func(table, name, def string) {
		if g.rules[table+" "+name] {
			return
		}
		byTrigger[table+" rule "+name] = true
		problems = append(problems, problem{fmt.Sprintf("rule %s on %s is not one the migrations create: %s",
			name, table, oneLine(def)), fmt.Sprintf("DROP RULE %s ON %s;", ddl.Ident(name), table)})
	})
	if err != nil {
		return failedQuery(CheckAttached, err)
	}
	rows, err := s.admin.Query(ctx, functionsQuery, g.tables)
	if err != nil {
		return failedQuery(CheckAttached, err)
	}
	type call struct{ table, what, fn, signature string }
	calls, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (call, error) {
		var c call
		return c, row.Scan(&c.table, &c.what, &c.fn, &c.signature)
	})
	if err != nil {
		return failedQuery(CheckAttached, err)
	}
	for _, c := range calls {
		if g.functions[c.fn] || byTrigger[c.table+" "+c.what] {
			continue
		}
		problems = append(problems, problem{fmt.Sprintf("%s of %s calls %s, which the migrations do not create "+
			"and no extension provides: pgtenant cannot see what it does (it could change the tenant setting)",
			c.what, c.table, c.signature), fmt.Sprintf("take the call out of %s of %s (in policies.hcl if it is "+
			"declared there, then pgtenant generate), or review %s and make it part of an extension", c.what, c.table,
			c.signature)})
	}
	return result(CheckAttached, fmt.Sprintf("%d tables, %d triggers", len(g.tables), len(g.triggers)), problems)
}

// eachRow runs a query of three text columns with tables as $1 and calls fn for each row.
func eachRow(ctx context.Context, db *pgx.Conn, query string, tables []string, fn func(a, b, c string)) error {
	rows, err := db.Query(ctx, query, tables)
	if err != nil {
		return err
	}
	var a, b, c string
	_, err = pgx.ForEachRow(rows, []any{&a, &b, &c}, func() error {
		fn(a, b, c)
		return nil
	})
	return err
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
