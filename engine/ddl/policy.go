package ddl

import "pgtenant/schema"

// Policies returns every row-level security policy the migrations create on t, in the order they create them:
// on a tenant table tenant_isolation (RESTRICTIVE, FOR ALL), one <role>_access per declared role (PERMISSIVE, FOR
// SELECT for a read-only role, FOR ALL otherwise) and then the policies declared on t; on a shared table
// shared_read. An empty To means PUBLIC; Using and Check are the SQL the migrations write. `pgtenant verify`
// compares the live policies with these, so what is checked is exactly what is generated.
//
// On Citus a tenant table has only PERMISSIVE policies, the declared ones folded in (citusPolicies).
func Policies(m *schema.Model, t *schema.Table) []*schema.Policy {
	if m.Tenancy.Citus() && !t.Shared {
		return citusPolicies(m, t)
	}
	return append(generatedPolicies(m, t), m.PoliciesOn(t.Name)...)
}

// declaredApart reports whether the declared policies on t are created apart from the table's own, by
// createPolicy: everywhere but on a Citus tenant table, whose policies all come with it (citusPolicies).
func declaredApart(m *schema.Model, t *schema.Table) bool { return !m.Tenancy.Citus() || t.Shared }

// generatedPolicies are the policies rowSecurity creates with the table.
func generatedPolicies(m *schema.Model, t *schema.Table) []*schema.Policy {
	if t.Shared {
		return []*schema.Policy{{Name: schema.SharedReadPolicy, Table: t.Name, For: schema.SelectRows,
			As: schema.Permissive, Using: "true"}}
	}
	if m.Tenancy.Citus() {
		return citusPolicies(m, t)
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
