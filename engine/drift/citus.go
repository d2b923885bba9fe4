package drift

import (
	"slices"

	"pgtenant/engine/ddl"
	"pgtenant/engine/introspect"
	"pgtenant/schema"
)

// ShardDifferences turns the problems introspect.CheckShards finds on a Citus cluster's shards into differences
// `pgtenant plan` prints: one per table and policy, whose SQL re-creates the generated policy on the coordinator
// (Citus sends a policy created there to every shard again), or re-enables and forces row-level security. A
// policy the generator does not write is dropped.
func ShardDifferences(m *schema.Model, problems []introspect.ShardProblem) []Difference {
	var out []Difference
	seen := map[string]bool{}
	for _, p := range problems {
		key := p.Table + " " + p.Policy
		if seen[key] {
			continue
		}
		seen[key] = true
		var shards []string
		for _, q := range problems {
			if q.Table == p.Table && q.Policy == p.Policy && !slices.Contains(shards, q.Shard+" on "+q.Worker) {
				shards = append(shards, q.Shard+" on "+q.Worker)
			}
		}
		what := p.What
		if len(shards) > 1 {
			what += " (and on " + shards[1]
			if len(shards) > 2 {
				what += " and more"
			}
			what += ")"
		}
		d := Difference{Object: "shard " + p.Shard + " of " + p.Table + " on worker " + p.Worker, What: what}
		if p.Policy == "" {
			d.Stmts = ddl.EnableRowSecurity(p.Table)
		} else {
			d.Stmts = []ddl.Stmt{ddl.DropPolicy{Name: p.Policy, Table: p.Table}}
			for _, t := range m.Tables {
				if ddl.TableName(t) != p.Table {
					continue
				}
				for _, want := range ddl.Policies(m, t) {
					if want.Name == p.Policy {
						d.Stmts = append(d.Stmts, ddl.PolicyStmt(want, p.Table))
					}
				}
			}
		}
		d.SQL = ddl.SQL(ddl.Citus, d.Stmts...)
		out = append(out, d)
	}
	return out
}
