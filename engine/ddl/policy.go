package ddl

import (
	"fmt"
	"strings"

	"pgtenant/schema"
)

// Policies returns every row-level security policy the migrations create on t, in the order they create them:
// on a tenant table tenant_isolation (RESTRICTIVE, FOR ALL), one <role>_access per declared role (PERMISSIVE, FOR
// SELECT for a read-only role, FOR ALL otherwise) and then the policies declared on t; on a shared table
// shared_read. An empty To means PUBLIC; Using and Check are the SQL the migrations write. `pgtenant verify`
// compares the live policies with these, so what is checked is exactly what is generated.
func Policies(m *schema.Model, t *schema.Table) []*schema.Policy {
	return append(generatedPolicies(m, t), m.PoliciesOn(t.Name)...)
}

// generatedPolicies are the policies rowSecurity creates with the table.
func generatedPolicies(m *schema.Model, t *schema.Table) []*schema.Policy {
	if t.Shared {
		return []*schema.Policy{{Name: schema.SharedReadPolicy, Table: t.Name, For: schema.SelectRows,
			As: schema.Permissive, Using: "true"}}
	}
	pred := TenantPredicate(m)
	out := []*schema.Policy{{Name: schema.IsolationPolicy, Table: t.Name, For: schema.All, As: schema.Restrictive,
		Using: pred, Check: pred}}
	for _, r := range m.Roles {
		p := &schema.Policy{Name: schema.AccessPolicyName(r.Name), Table: t.Name, To: []string{r.Name},
			For: schema.All, As: schema.Permissive, Using: pred, Check: pred}
		if r.Has(schema.Select) && len(r.Privileges) == 1 {
			p.For, p.Check = schema.SelectRows, ""
		}
		out = append(out, p)
	}
	return out
}

// CreatePolicy is the statement that creates p on table (a qualified, quoted name), laid out as the migrations
// write it.
func CreatePolicy(p *schema.Policy, table string) string {
	to := "PUBLIC"
	if len(p.To) > 0 {
		to = Idents(p.To)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE POLICY %s ON %s AS %s FOR %s TO %s", Ident(p.Name), table, p.As, p.For, to)
	if p.Using != "" {
		fmt.Fprintf(&b, "\n    USING (%s)", p.Using)
	}
	if p.Check != "" {
		fmt.Fprintf(&b, "\n    WITH CHECK (%s)", p.Check)
	}
	b.WriteString(";")
	return b.String()
}

// DropPolicy is the statement that drops policy name from table (a qualified, quoted name).
func DropPolicy(name, table string) string {
	return fmt.Sprintf("DROP POLICY %s ON %s;", Ident(name), table)
}

// EnableRowSecurity is the statement that enables and forces row-level security on table (a qualified, quoted
// name): FORCE makes its owner subject to the policies too.
func EnableRowSecurity(table string) string {
	return fmt.Sprintf("ALTER TABLE %[1]s ENABLE ROW LEVEL SECURITY;\nALTER TABLE %[1]s FORCE ROW LEVEL SECURITY;", table)
}

// DisableRowSecurity is the statement that turns row-level security off on table (a qualified, quoted name):
// NO FORCE, then DISABLE. With it off, every role with a privilege on the table sees and changes every tenant's
// rows. It exists for emergencies (`pgtenant rls disable`); EnableRowSecurity undoes it.
func DisableRowSecurity(table string) string {
	return fmt.Sprintf("ALTER TABLE %[1]s NO FORCE ROW LEVEL SECURITY;\nALTER TABLE %[1]s DISABLE ROW LEVEL SECURITY;", table)
}
