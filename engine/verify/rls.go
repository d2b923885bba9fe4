package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/ddl"
	"pgtenant/engine/introspect"
	"pgtenant/engine/scratch"
	"pgtenant/schema"
)

// rlsChecks returns CheckRLSDeclared and CheckRLSReachable from introspect.Check's table problems, read as the app
// login: a declared table that is missing or lacks row-level security enabled and forced, and any other table of
// public the login can reach (the API would expose it) without both. A table the login cannot reach, such as
// golang-migrate's schema_migrations, is not its concern.
func (s *session) rlsChecks(ctx context.Context) []Result {
	if r := s.needApp(CheckRLSDeclared, CheckRLSReachable); r != nil {
		return r
	}
	all, err := s.checkProblems(ctx)
	if err != nil {
		return []Result{failedQuery(CheckRLSDeclared, err), failedQuery(CheckRLSReachable, err)}
	}
	declared := map[string]bool{}
	for _, n := range declaredNames(s.cfg.Declared) {
		declared["table "+qualified(n)] = true
	}
	var mine, others []problem
	for _, p := range all {
		if !strings.HasPrefix(p.Object, "table ") {
			continue
		}
		if declared[p.Object] {
			mine = append(mine, problem{p.Object + " " + p.Reason, p.Fix})
		} else {
			others = append(others, problem{p.Object + " " + p.Reason, p.Fix})
		}
	}
	return []Result{
		result(CheckRLSDeclared, fmt.Sprintf("%d tables", len(s.cfg.Declared.Tables)), mine),
		result(CheckRLSReachable, "", others),
	}
}

// livePolicy is a policy as pg_policies shows it: PostgreSQL's own printing of its expressions.
type livePolicy struct {
	table, name, kind, cmd string
	roles                  []string
	using, check           *string
}

// policiesQuery reads the policies of schema $1's tables $2 (all of them when $2 is NULL). It is verify's own
// catalog read, not introspect.Read's: it runs inside the comparison's transaction, with search_path public (so
// that names print as the generator writes them), on the temporary copies that transaction creates.
const policiesQuery = `SELECT tablename::text, policyname::text, permissive, cmd, roles::text[], qual, with_check
  FROM pg_catalog.pg_policies
 WHERE schemaname = $1 AND ($2::text[] IS NULL OR tablename = ANY ($2::text[]))
 ORDER BY tablename, policyname`

func readPolicies(ctx context.Context, db *pgx.Conn, schemaName string, tables []string) ([]livePolicy, error) {
	rows, err := db.Query(ctx, policiesQuery, schemaName, tables)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (livePolicy, error) {
		var p livePolicy
		err := row.Scan(&p.table, &p.name, &p.kind, &p.cmd, &p.roles, &p.using, &p.check)
		slices.Sort(p.roles)
		return p, err
	})
}

// policyChecks returns CheckPolicies and CheckPermissiveTrue, read as the owner.
//
// CheckPolicies compares, on every declared table that exists, the live policies with ddl.Policies (what the
// migrations create: tenant_isolation, the <role>_access policies or shared_read, and the declared ones). The
// expressions are compared as PostgreSQL prints them, not as text: in one transaction that is rolled back, each
// expected policy is created on a temporary copy of its table (CREATE TEMP TABLE … (LIKE …): only an ACCESS SHARE
// lock on the real table), and pg_policies prints both. A missing policy, one that differs (kind, command,
// roles, USING or WITH CHECK), and a policy nobody declared are failures, each with the SQL that repairs it.
// This is the one place verify runs SQL of the declaration: only once schema.CheckFragments has read every
// fragment as exactly one expression that calls nothing a fragment may not, each statement alone in the extended
// protocol (scratch.ExecEach), and CREATE POLICY stores its expressions without evaluating them.
//
// CheckPermissiveTrue fails for every PERMISSIVE policy whose USING or WITH CHECK is the constant true on a table
// of public that has the tenant column: permissive policies are ORed, so such a policy lets every row through
// whatever the others say, and only the RESTRICTIVE tenant_isolation still stands between the tenants.
func (s *session) policyChecks(ctx context.Context) []Result {
	if r := s.needAdmin(CheckPolicies, CheckPermissiveTrue); r != nil {
		return r
	}
	m := s.cfg.Declared
	// The comparison creates the declared policies on temporary copies, so it runs declared SQL: only SQL that
	// PostgreSQL's grammar reads as exactly one expression per fragment, calling nothing a fragment may not.
	if err := checkFragments(m); err != nil {
		return []Result{failedQuery(CheckPolicies, err), failedQuery(CheckPermissiveTrue, err)}
	}
	c, err := s.adminCatalog(ctx)
	if err != nil {
		return []Result{failedQuery(CheckPolicies, err), failedQuery(CheckPermissiveTrue, err)}
	}
	tx, err := s.admin.Begin(ctx)
	if err != nil {
		return []Result{failedQuery(CheckPolicies, err), failedQuery(CheckPermissiveTrue, err)}
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	// A search_path of public alone makes pg_policies print names of public unqualified, as the generator
	// wrote them, whatever the owner's own search_path says.
	if _, err := tx.Exec(ctx, "SET LOCAL search_path = public; SET LOCAL lock_timeout = '5s'"); err != nil {
		return []Result{failedQuery(CheckPolicies, err), failedQuery(CheckPermissiveTrue, err)}
	}
	live, err := readPolicies(ctx, tx.Conn(), ddl.Schema, nil)
	if err != nil {
		return []Result{failedQuery(CheckPolicies, err), failedQuery(CheckPermissiveTrue, err)}
	}
	permissive := permissiveTrue(c, live, m.Tenancy.Column)

	byTable := map[string][]livePolicy{}
	for _, p := range live {
		byTable[p.table] = append(byTable[p.table], p)
	}
	var problems []problem
	checked := 0
	for _, t := range m.Tables {
		if c.Table(ddl.Schema, t.Name) == nil {
			continue // CheckRLSDeclared and CheckSchema report it
		}
		want, err := expectedPolicies(ctx, tx, m, t)
		if err != nil {
			fix := ""
			switch pgCode(err) {
			case "42704": // undefined_object: a declared role is missing
				fix = "pgtenant migrate up (the migrations create the declared roles)"
			case "42501": // insufficient_privilege: no TEMP on the database
				fix = "let the owner create temporary tables: GRANT TEMP ON DATABASE <database> TO <owner>;"
			}
			problems = append(problems, problem{fmt.Sprintf("table %s: the expected policies could not be "+
				"created on a temporary copy of it to compare: %v", qualified(t.Name), err), fix})
			continue
		}
		checked++
		problems = append(problems, comparePolicies(m, t, want, byTable[t.Name])...)
	}
	return []Result{result(CheckPolicies, fmt.Sprintf("%d tables", checked), problems), permissive}
}

// expectedPolicies creates t's expected policies on a temporary copy of t, named like t so that a policy naming
// its own table still reads the same, and returns them as pg_policies prints them. A savepoint removes the copy
// again, so that no other table is ever shadowed by a temporary one while policies are printed.
func expectedPolicies(ctx context.Context, tx pgx.Tx, m *schema.Model, t *schema.Table) ([]livePolicy, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = sp.Rollback(context.WithoutCancel(ctx)) }()
	copyName := "pg_temp." + ddl.Ident(t.Name)
	stmts := []string{fmt.Sprintf("CREATE TEMP TABLE %s (LIKE %s);", ddl.Ident(t.Name), qualified(t.Name))}
	for _, p := range ddl.Policies(m, t) {
		stmts = append(stmts, ddl.SQL(ddl.SingleNode, ddl.PolicyStmt(p, copyName)))
	}
	// Each statement alone in the extended protocol (scratch.ExecEach): the server refuses to read one as more.
	if _, _, err := scratch.ExecEach(ctx, sp.Conn().PgConn(), strings.Join(stmts, "\n")); err != nil {
		return nil, err
	}
	var temp string
	if err := sp.QueryRow(ctx, "SELECT nspname::text FROM pg_catalog.pg_namespace WHERE oid = pg_catalog.pg_my_temp_schema()").Scan(&temp); err != nil {
		return nil, err
	}
	return readPolicies(ctx, sp.Conn(), temp, []string{t.Name})
}

// comparePolicies returns a problem per expected policy that is missing or differs, and per live one that is
// not expected.
func comparePolicies(m *schema.Model, t *schema.Table, want, got []livePolicy) []problem {
	name := qualified(t.Name)
	declared := map[string]*schema.Policy{}
	for _, p := range ddl.Policies(m, t) {
		declared[p.Name] = p
	}
	have := map[string]livePolicy{}
	for _, p := range got {
		have[p.name] = p
	}
	var out []problem
	for _, w := range want {
		create := oneLine(ddl.SQL(ddl.SingleNode, ddl.PolicyStmt(declared[w.name], name)))
		g, ok := have[w.name]
		if !ok {
			what := "is missing"
			if w.name == schema.IsolationPolicy {
				what = "is missing: nothing but the other policies separates the tenants"
			}
			out = append(out, problem{fmt.Sprintf("policy %s on %s %s", w.name, name, what), create})
			continue
		}
		if diff := policyDiff(w, g); diff != "" {
			out = append(out, problem{fmt.Sprintf("policy %s on %s differs from the generated one: %s", w.name, name, diff),
				ddl.SQL(ddl.SingleNode, ddl.DropPolicy{Name: w.name, Table: name}) + " " + create})
		}
	}
	for _, g := range got {
		if _, ok := declared[g.name]; !ok {
			out = append(out, problem{fmt.Sprintf("policy %s on %s is not in policies.hcl (%s, FOR %s, USING %s)",
				g.name, name, g.kind, g.cmd, orNone(g.using)),
				ddl.SQL(ddl.SingleNode, ddl.DropPolicy{Name: g.name, Table: name}) + " (or declare it in policies.hcl)"})
		}
	}
	return out
}

// policyDiff says how got differs from want; "" when it does not.
func policyDiff(want, got livePolicy) string {
	var d []string
	if want.kind != got.kind {
		d = append(d, fmt.Sprintf("it is %s, want %s", got.kind, want.kind))
	}
	if want.cmd != got.cmd {
		d = append(d, fmt.Sprintf("it is FOR %s, want FOR %s", got.cmd, want.cmd))
	}
	if !slices.Equal(want.roles, got.roles) {
		d = append(d, fmt.Sprintf("it is TO %s, want TO %s", strings.Join(got.roles, ", "), strings.Join(want.roles, ", ")))
	}
	if orNone(want.using) != orNone(got.using) {
		d = append(d, fmt.Sprintf("USING %s, want %s", orNone(got.using), orNone(want.using)))
	}
	if orNone(want.check) != orNone(got.check) {
		d = append(d, fmt.Sprintf("WITH CHECK %s, want %s", orNone(got.check), orNone(want.check)))
	}
	return strings.Join(d, ", ")
}

func orNone(s *string) string {
	if s == nil {
		return "(none)"
	}
	return "(" + *s + ")"
}

// oneLine joins the lines of generated SQL with single spaces, for a one-line fix.
func oneLine(sql string) string { return strings.Join(strings.Fields(sql), " ") }

// permissiveTrue returns CheckPermissiveTrue from the live policies of public.
func permissiveTrue(c *introspect.Catalog, live []livePolicy, tenantColumn string) Result {
	var tenant []string
	for _, t := range liveTenantTables(c, tenantColumn) {
		tenant = append(tenant, t.Name)
	}
	var problems []problem
	for _, p := range live {
		if p.kind != "PERMISSIVE" || !slices.Contains(tenant, p.table) {
			continue
		}
		isTrue := func(s *string) bool { return s != nil && *s == "true" }
		if isTrue(p.using) || isTrue(p.check) {
			problems = append(problems, problem{fmt.Sprintf("policy %s on %s is PERMISSIVE with %s: every row "+
				"passes it, so only tenant_isolation keeps the tenants apart", p.name, qualified(p.table),
				map[bool]string{true: "USING (true)", false: "WITH CHECK (true)"}[isTrue(p.using)]),
				ddl.SQL(ddl.SingleNode, ddl.DropPolicy{Name: p.name, Table: qualified(p.table)})})
		}
	}
	return result(CheckPermissiveTrue, fmt.Sprintf("%d tenant tables", len(tenant)), problems)
}
