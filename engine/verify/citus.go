package verify

import (
	"context"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/introspect"
)

// checkCitusShards checks every shard of every tenant table on every worker of a Citus cluster
// (introspect.CheckShards), connecting to each worker as the owner does to the coordinator (ADMIN_DATABASE_URL
// with the worker's host and port). The fix of a shard altered by hand is to re-create the policy on the
// coordinator, which sends it to every shard again.
func (s *session) checkCitusShards(ctx context.Context) Result {
	if r := s.needAdmin(CheckCitusShards); r != nil {
		return r[0]
	}
	cfg, err := pgx.ParseConfig(s.cfg.AdminURL)
	if err != nil {
		return failedQuery(CheckCitusShards, err)
	}
	coord, err := s.adminCatalog(ctx)
	if err != nil {
		return failedQuery(CheckCitusShards, err)
	}
	problems, err := coord.ShardProblems(ctx, s.admin, introspect.WorkerConnector(cfg), s.cfg.Declared)
	if err != nil {
		return failedQuery(CheckCitusShards, err)
	}
	var ps []problem
	for _, p := range problems {
		fix := "re-create the table's policies on the coordinator (`pgtenant plan` prints the SQL): Citus sends them to every shard again"
		ps = append(ps, problem{detail: p.String(), fix: fix})
	}
	return result(CheckCitusShards, "every shard on every worker has forced RLS and exactly the generated permissive policies", ps)
}
