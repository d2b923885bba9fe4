package introspect

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"pgtenant/engine/ddl"
	"pgtenant/schema"
)

// ShardProblem is one thing wrong with the row-level security of one shard of a tenant table on a Citus worker:
// Table is the distributed table (qualified), Shard the shard (qualified: public.content_tag_102008), Worker the
// node that holds it (host:port), Policy the policy concerned ("" for the table's own settings).
type ShardProblem struct {
	Table, Shard, Worker, Policy, What string
}

// String names the shard and the worker.
func (p ShardProblem) String() string {
	return fmt.Sprintf("shard %s of %s on worker %s: %s", p.Shard, p.Table, p.Worker, p.What)
}

// citusShardsQuery lists, on the coordinator, every placement of every shard of the given tables with the node
// that holds it.
const citusShardsQuery = `SELECT t.name, ns.nspname, (parse_ident(shard_name(s.logicalrelid, s.shardid)))[1 + (
         SELECT count(*) FROM unnest(parse_ident(shard_name(s.logicalrelid, s.shardid)))) - 1], n.nodename, n.nodeport
  FROM unnest($1::text[]) AS t(name)
  JOIN pg_class c ON c.oid = t.name::regclass
  JOIN pg_namespace ns ON ns.oid = c.relnamespace
  JOIN pg_dist_shard s ON s.logicalrelid = c.oid
  JOIN pg_dist_placement p ON p.shardid = s.shardid
  JOIN pg_dist_node n ON n.groupid = p.groupid
 WHERE n.noderole = 'primary' AND n.isactive
 ORDER BY n.nodeport, s.shardid`

// CheckShards checks, on a Citus cluster, every shard of every tenant table of m on every worker: row-level
// security enabled and forced, exactly the policies the Citus profile generates (ddl.Policies), every one
// PERMISSIVE, each as the coordinator's table has it and carrying the tenant predicate. A shard is where Citus
// checks the policies, and where it turns a RESTRICTIVE policy PERMISSIVE; the coordinator's catalog does not
// show either. coord is a connection to the coordinator as the tables' owner; connect opens one to a worker (the
// same role, another host and port). It also reports a coordinator table whose policies are not all
// PERMISSIVE: their shard copies are, whatever the coordinator says.
func CheckShards(ctx context.Context, coord *pgx.Conn, connect func(ctx context.Context, host string, port int) (*pgx.Conn, error),
	m *schema.Model) ([]ShardProblem, error) {
	c, err := Read(ctx, coord)
	if err != nil {
		return nil, fmt.Errorf("introspect: read the coordinator's catalog: %w", err)
	}
	return c.ShardProblems(ctx, coord, connect, m)
}

// ShardProblems is what CheckShards returns, with c the coordinator's catalog as coord reads it (for a caller that
// has read it already).
func (c *Catalog) ShardProblems(ctx context.Context, coord *pgx.Conn,
	connect func(ctx context.Context, host string, port int) (*pgx.Conn, error), m *schema.Model) ([]ShardProblem, error) {
	var tables []string
	want := map[string][]string{} // table → the expected policy names, sorted
	for _, t := range m.Tables {
		if t.Shared {
			continue
		}
		name := ddl.TableName(t)
		tables = append(tables, name)
		for _, p := range ddl.Policies(m, t) {
			want[name] = append(want[name], p.Name)
		}
		slices.Sort(want[name])
	}
	if len(tables) == 0 {
		return nil, nil
	}
	coordRLS := byQualifiedName(c)
	type placement struct{ table, shard string } // both qualified and quoted, as ddl.TableName writes them
	type node struct {
		host string
		port int
	}
	byNode := map[node][]placement{}
	var nodes []node
	rows, err := coord.Query(ctx, citusShardsQuery, tables)
	if err != nil {
		return nil, fmt.Errorf("introspect: list the shards (is this a Citus coordinator?): %w", err)
	}
	for rows.Next() {
		var table, shardSchema, shardName, host string
		var port int
		if err := rows.Scan(&table, &shardSchema, &shardName, &host, &port); err != nil {
			rows.Close()
			return nil, err
		}
		shard := ddl.Qualified(shardSchema, shardName)
		n := node{host, port}
		if _, ok := byNode[n]; !ok {
			nodes = append(nodes, n)
		}
		byNode[n] = append(byNode[n], placement{table, shard})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("introspect: list the shards: %w", err)
	}
	predicate := "current_setting('" + m.Tenancy.Setting + "'"
	var out []ShardProblem
	for _, table := range tables {
		ct := coordRLS[table]
		if ct == nil {
			continue
		}
		for _, p := range ct.Policies {
			name := p.Name
			if !p.Permissive {
				out = append(out, ShardProblem{Table: table, Shard: "(every shard)", Worker: "(every worker)", Policy: name,
					What: fmt.Sprintf("policy %s is RESTRICTIVE on the coordinator; Citus copies it to the shards as PERMISSIVE, "+
						"where it no longer narrows anything", name)})
			}
		}
	}
	for _, n := range nodes {
		node := fmt.Sprintf("%s:%d", n.host, n.port)
		conn, err := connect(ctx, n.host, n.port)
		if err != nil {
			return nil, fmt.Errorf("introspect: connect to worker %s: %w", node, err)
		}
		shards := byNode[n]
		// Shards are hidden from catalog queries unless this is off (Citus's table visibility).
		got, err := func() (map[string]*Table, error) {
			defer conn.Close(context.WithoutCancel(ctx))
			if _, err := conn.Exec(ctx, "SET citus.override_table_visibility = off"); err != nil {
				return nil, err
			}
			cat, err := Read(ctx, conn)
			if err != nil {
				return nil, err
			}
			return byQualifiedName(cat), nil
		}()
		if err != nil {
			return nil, fmt.Errorf("introspect: read the shards on worker %s: %w", node, err)
		}
		for _, s := range shards {
			out = append(out, shardProblems(s.table, s.shard, node, want[s.table], coordRLS[s.table], got[s.shard], predicate)...)
		}
	}
	slices.SortFunc(out, func(a, b ShardProblem) int {
		return strings.Compare(a.Worker+" "+a.Shard+" "+a.Policy+" "+a.What, b.Worker+" "+b.Shard+" "+b.Policy+" "+b.What)
	})
	return out, nil
}

// byQualifiedName indexes a catalog's tables by their qualified, quoted name (ddl.Qualified).
func byQualifiedName(c *Catalog) map[string]*Table {
	out := map[string]*Table{}
	for _, t := range c.Tables {
		out[ddl.Qualified(t.Schema, t.Name)] = t
	}
	return out
}

// samePolicy reports whether two policies are the same in everything but their table.
func samePolicy(a, b *Policy) bool {
	return a.Permissive == b.Permissive && a.Command == b.Command && slices.Equal(a.Roles, b.Roles) &&
		a.Using == b.Using && a.Check == b.Check
}

// shardProblems compares one shard's row-level security with the coordinator's table and the expected policies.
func shardProblems(table, shard, node string, want []string, coord, got *Table, predicate string) []ShardProblem {
	problem := func(policy, format string, args ...any) ShardProblem {
		return ShardProblem{Table: table, Shard: shard, Worker: node, Policy: policy, What: fmt.Sprintf(format, args...)}
	}
	if got == nil {
		return []ShardProblem{problem("", "the shard is missing")}
	}
	var out []ShardProblem
	if !got.RowSecurity || !got.ForceRowSecurity {
		out = append(out, problem("", "row-level security is not enabled and forced"))
	}
	have := map[string]bool{}
	for _, p := range got.Policies {
		have[p.Name] = true
		if !slices.Contains(want, p.Name) {
			out = append(out, problem(p.Name, "policy %s is not generated", p.Name))
			continue
		}
		if !p.Permissive {
			out = append(out, problem(p.Name, "policy %s is RESTRICTIVE, which Citus does not keep", p.Name))
		}
		for _, clause := range []string{p.Using, p.Check} {
			if clause != "" && !strings.Contains(clause, predicate) {
				out = append(out, problem(p.Name, "policy %s does not carry the tenant predicate: %s", p.Name, clause))
				break
			}
		}
		if coord == nil {
			continue
		}
		for _, c := range coord.Policies {
			if c.Name == p.Name && !samePolicy(c, p) {
				out = append(out, problem(p.Name, "policy %s differs from the coordinator's (%s %s to %s using %q check %q)",
					p.Name, map[bool]string{true: "PERMISSIVE", false: "RESTRICTIVE"}[p.Permissive], p.Command,
					strings.Join(p.Roles, ","), p.Using, p.Check))
			}
		}
	}
	for _, name := range want {
		if !have[name] {
			out = append(out, problem(name, "policy %s is missing", name))
		}
	}
	return out
}

// WorkerConnector returns a function that connects to a Citus worker as cfg does to the coordinator: the same
// role, password, database and sslmode, on the worker's host and port (as pg_dist_node names them). The TLS
// attempts sslmode makes (prefer: TLS, then without) are kept, and a certificate is checked against the
// worker's name (verify-full), not the coordinator's.
func WorkerConnector(cfg *pgx.ConnConfig) func(ctx context.Context, host string, port int) (*pgx.Conn, error) {
	return func(ctx context.Context, host string, port int) (*pgx.Conn, error) {
		c := cfg.Copy()
		retarget := func(tc *tls.Config) *tls.Config {
			if tc == nil || tc.ServerName == "" {
				return tc
			}
			tc = tc.Clone()
			tc.ServerName = host
			return tc
		}
		var fallbacks []*pgconn.FallbackConfig
		for _, f := range c.Fallbacks { // the coordinator's other TLS attempts; other hosts are not the worker
			if f.Host == cfg.Host && f.Port == cfg.Port {
				fallbacks = append(fallbacks, &pgconn.FallbackConfig{Host: host, Port: uint16(port), TLSConfig: retarget(f.TLSConfig)})
			}
		}
		c.Host, c.Port, c.TLSConfig, c.Fallbacks = host, uint16(port), retarget(c.TLSConfig), fallbacks
		conn, err := pgx.ConnectConfig(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("connect as the owner to %s:%d: %w", host, port, err)
		}
		return conn, nil
	}
}
