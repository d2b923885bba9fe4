package ddl

import "pgtenant/schema"

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
