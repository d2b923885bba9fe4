package ddl

import (
	"fmt"
	"slices"
	"strings"

	"pgtenant/schema"
)

// TargetFor is the target a model's migrations are written for: Citus when its tenancy says scale_out = "citus",
// SingleNode otherwise.
func TargetFor(m *schema.Model) Target {
	if m.Tenancy.Citus() {
		return Citus
	}
	return SingleNode
}

// citusCommands are the commands a policy may name, but ALL.
var citusCommands = []schema.Command{schema.SelectRows, schema.InsertRows, schema.UpdateRows, schema.DeleteRows}

// applies reports whether policy p applies to role and command c.
func applies(p *schema.Policy, role string, c schema.Command) bool {
	return (p.For == schema.All || p.For == c) && (len(p.To) == 0 || slices.Contains(p.To, role))
}

// and joins SQL expressions with AND, each in parentheses but the first (the tenant predicate).
func and(first string, more ...string) string {
	out := first
	for _, x := range more {
		if x != "" {
			out += " AND (" + x + ")"
		}
	}
	return out
}

// citusPolicies are the policies of a tenant table on Citus, where every policy is PERMISSIVE: Citus rebuilds a
// shard's policies from their catalog entries without AS RESTRICTIVE (CITUS.md §0.1), so a RESTRICTIVE policy is
// lost on every shard and would let the permissive ones show every tenant's rows. Permissive policies are ORed,
// so each one carries everything that must hold for the roles it is for, and each role sees what it sees on one
// node, where its rows are (OR of its permissive policies) AND (AND of the restrictive ones):
//   - tenant_isolation, FOR ALL, to the declared roles no declared RESTRICTIVE policy narrows: the bare tenant
//     predicate (no sub-select: Citus refuses them in policies);
//   - for a role a declared RESTRICTIVE policy narrows, one policy per group of its commands that the same
//     restrictive policies narrow, named after them (the reader's webpage_published_only: the tenant predicate
//     AND is_published, FOR SELECT TO reader), or <role>_<command> for its commands nothing narrows; it does not
//     get tenant_isolation, which would OR the narrowing away;
//   - each declared PERMISSIVE policy, with the tenant predicate and the restrictive policies of its roles ANDed
//     into its own expressions: it can add no row the role's own policy does not already give it.
func citusPolicies(m *schema.Model, t *schema.Table) []*schema.Policy {
	pred := fmt.Sprintf("%s = %s", Ident(m.Tenancy.Column), CurrentTenant(m))
	declared := m.PoliciesOn(t.Name)
	var restrictive, permissive []*schema.Policy
	for _, p := range declared {
		if p.As == schema.Restrictive {
			restrictive = append(restrictive, p)
		} else {
			permissive = append(permissive, p)
		}
	}
	narrowing := func(role string, c schema.Command) []*schema.Policy {
		var out []*schema.Policy
		for _, p := range restrictive {
			if applies(p, role, c) {
				out = append(out, p)
			}
		}
		return out
	}
	names := func(ps []*schema.Policy) string {
		n := make([]string, len(ps))
		for i, p := range ps {
			n[i] = p.Name
		}
		return strings.Join(n, "_and_")
	}
	var free []string
	type group struct {
		key   string // the narrowing policies' names; "" for none
		cmd   schema.Command
		roles []string
		narr  []*schema.Policy
	}
	var groups []*group
	for _, r := range m.Roles {
		cmds := citusCommands
		if r.Has(schema.Select) && len(r.Privileges) == 1 {
			cmds = []schema.Command{schema.SelectRows}
		}
		byKey := map[string][]schema.Command{}
		var keys []string
		narrowed := false
		for _, c := range cmds {
			k := names(narrowing(r.Name, c))
			narrowed = narrowed || k != ""
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], c)
		}
		if !narrowed {
			free = append(free, r.Name)
			continue
		}
		for _, k := range keys {
			cs := []schema.Command{schema.All}
			if len(byKey[k]) != len(citusCommands) {
				cs = byKey[k]
			}
			for _, c := range cs {
				i := slices.IndexFunc(groups, func(g *group) bool { return g.key == k && g.cmd == c })
				if i < 0 {
					narrowCmd := c
					if c == schema.All {
						narrowCmd = citusCommands[0]
					}
					groups = append(groups, &group{key: k, cmd: c, narr: narrowing(r.Name, narrowCmd)})
					i = len(groups) - 1
				}
				groups[i].roles = append(groups[i].roles, r.Name)
			}
		}
	}
	var out []*schema.Policy
	if len(free) > 0 {
		out = append(out, &schema.Policy{Name: schema.IsolationPolicy, Table: t.Name, To: free, For: schema.All,
			As: schema.Permissive, Using: pred, Check: pred})
	}
	used := map[string]int{}
	for _, g := range groups {
		used[g.key]++
	}
	for _, g := range groups {
		name := g.key
		switch {
		case name == "":
			name = strings.Join(g.roles, "_") + "_" + strings.ToLower(string(g.cmd))
		case used[name] > 1:
			name += "_" + strings.ToLower(string(g.cmd))
		}
		var using, check []string
		for _, p := range g.narr {
			using, check = append(using, p.Using), append(check, checkOf(p))
		}
		out = append(out, citusPolicy(name, t.Name, g.roles, g.cmd, pred, using, check))
	}
	for _, p := range permissive {
		var using, check []string
		for _, r := range p.To {
			for _, c := range citusCommands {
				if p.For == schema.All || p.For == c {
					for _, n := range narrowing(r, c) {
						if !slices.Contains(using, n.Using) {
							using = append(using, n.Using)
						}
						if !slices.Contains(check, checkOf(n)) {
							check = append(check, checkOf(n))
						}
					}
				}
			}
		}
		out = append(out, citusPolicy(p.Name, t.Name, p.To, p.For, pred, append([]string{p.Using}, using...),
			append([]string{checkOf(p)}, check...)))
	}
	return out
}

// citusPolicy is a PERMISSIVE policy whose clauses are the tenant predicate AND the given expressions, each clause
// only where the command has it (INSERT has no USING; SELECT and DELETE have no WITH CHECK).
func citusPolicy(name, table string, to []string, c schema.Command, pred string, using, check []string) *schema.Policy {
	p := &schema.Policy{Name: name, Table: table, To: to, For: c, As: schema.Permissive}
	if c != schema.InsertRows {
		p.Using = and(pred, using...)
	}
	if c == schema.All || c == schema.InsertRows || c == schema.UpdateRows {
		// A restrictive policy with no WITH CHECK checks new rows with its USING expression, as PostgreSQL does.
		p.Check = and(pred, check...)
	}
	return p
}

// checkOf is what a policy checks new rows with: its WITH CHECK, or its USING when it has none (as PostgreSQL does).
func checkOf(p *schema.Policy) string {
	if p.Check != "" {
		return p.Check
	}
	return p.Using
}
