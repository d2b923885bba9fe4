package verify_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/ddl"
	"pgtenant/engine/drift"
	"pgtenant/engine/introspect"
	"pgtenant/engine/verify"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

const citusCase = "../ddl/testdata/citus/create/cms"

// citusMigrated starts a cluster and applies the Citus profile's first migration with `pgtenant migrate up`'s
// code; it returns the cluster, a connection to the coordinator as the owner and the declaration.
func citusMigrated(t *testing.T) (*pgtest.Citus, *pgx.Conn, *schema.Model) {
	c := pgtest.NewCitus(t)
	m, _, diags := schema.Load(filepath.Join(citusCase, "input.hcl"))
	require.False(t, diags.HasErrors(), diags.Error())
	c.Migrate(t, filepath.Join(citusCase, "want.up.sql"))
	conn, err := pgx.Connect(t.Context(), c.CoordinatorURL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(t.Context()) })
	return c, conn, m
}

func checkShards(t *testing.T, c *pgtest.Citus, conn *pgx.Conn, m *schema.Model) []introspect.ShardProblem {
	t.Helper()
	cfg, err := pgx.ParseConfig(c.CoordinatorURL())
	require.NoError(t, err)
	problems, err := introspect.CheckShards(t.Context(), conn, introspect.WorkerConnector(cfg), m)
	require.NoError(t, err)
	return problems
}

func exec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	_, err := conn.Exec(t.Context(), sql, args...)
	require.NoError(t, err, sql)
}

// TestCitus_VerifyShards: verify checks every shard on every worker. It passes on the generated cluster; it
// fails, naming the shard and the worker, once a shard's policy is altered by hand; it passes again on the new
// shards of a tenant moved to its own shard; and it fails on the single-node policy layout, which leaks on Citus.
func TestCitus_VerifyShards(t *testing.T) {
	c, conn, m := citusMigrated(t)
	require.Empty(t, checkShards(t, c, conn, m))

	t.Run("verify runs the shard check and it passes", func(t *testing.T) {
		results := verify.Run(t.Context(), verify.Config{AdminURL: c.CoordinatorURL(), Declared: m})
		var got *verify.Result
		for i := range results {
			if results[i].Name == verify.CheckCitusShards {
				got = &results[i]
			}
		}
		require.NotNil(t, got, "verify runs %q on a Citus declaration", verify.CheckCitusShards)
		assert.True(t, got.OK, got.Detail)
	})

	t.Run("a shard whose policy was altered by hand fails, naming the shard and the worker", func(t *testing.T) {
		var shard, host string
		var port int
		require.NoError(t, conn.QueryRow(t.Context(), `SELECT shard_name(s.logicalrelid, s.shardid), n.nodename, n.nodeport
			FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) JOIN pg_dist_node n USING (groupid)
			WHERE s.logicalrelid = 'content_tag'::regclass ORDER BY s.shardid LIMIT 1`).Scan(&shard, &host, &port))
		w := workerConn(t, c, port)
		exec(t, w, "SET citus.override_table_visibility = off")
		exec(t, w, "ALTER POLICY tenant_isolation ON "+shard+" USING (true)")
		problems := checkShards(t, c, conn, m)
		require.NotEmpty(t, problems)
		shard = "public." + shard // shard_name leaves out a schema on the search_path
		worker := fmt.Sprintf("%s:%d", host, port)
		for _, p := range problems {
			assert.Equal(t, shard, p.Shard)
			assert.Equal(t, worker, p.Worker)
			assert.Contains(t, p.String(), shard)
			assert.Contains(t, p.String(), worker)
		}
		results := verify.Run(t.Context(), verify.Config{AdminURL: c.CoordinatorURL(), Declared: m})
		for _, r := range results {
			if r.Name == verify.CheckCitusShards {
				assert.False(t, r.OK)
				assert.Contains(t, r.Detail, shard)
				assert.Contains(t, r.Detail, worker)
			}
		}
		// plan reports the same drift, with the SQL that re-creates the policy on the coordinator.
		diffs := drift.ShardDifferences(m, problems)
		require.Len(t, diffs, 1)
		assert.Contains(t, diffs[0].String(), shard)
		assert.Contains(t, diffs[0].String(), worker)
		assert.Contains(t, diffs[0].SQL, "DROP POLICY tenant_isolation ON public.content_tag;\nCREATE POLICY tenant_isolation ON public.content_tag AS PERMISSIVE")
		// The fix: the policy re-created on the coordinator, which sends it to every shard again.
		tb := m.Table("content_tag")
		p := ddl.Policies(m, tb)[0]
		exec(t, conn, ddl.SQL(ddl.Citus, ddl.DropPolicy{Name: p.Name, Table: ddl.TableName(tb)}))
		exec(t, conn, ddl.SQL(ddl.Citus, ddl.PolicyStmt(p, ddl.TableName(tb))))
		assert.Empty(t, checkShards(t, c, conn, m))
	})

	t.Run("the new shards of an isolated tenant pass", func(t *testing.T) {
		var tenant string
		require.NoError(t, conn.QueryRow(t.Context(), `INSERT INTO pgtenant.tenants (identifier, name, created_by)
			VALUES ('big', 'Big', 'test') RETURNING id::text`).Scan(&tenant))
		exec(t, conn, `SELECT isolate_tenant_to_new_shard('content_tag', $1::uuid, 'CASCADE', shard_transfer_mode => 'block_writes')`, tenant)
		assert.Empty(t, checkShards(t, c, conn, m))
	})

	t.Run("the single-node layout leaks on Citus, and verify fails on it", func(t *testing.T) {
		single := *m
		single.Tenancy.ScaleOut = ""
		table := m.Table("webpages_webpage")
		name := ddl.TableName(table)
		for _, p := range ddl.Policies(m, table) {
			exec(t, conn, ddl.SQL(ddl.Citus, ddl.DropPolicy{Name: p.Name, Table: name}))
		}
		// The single-node policies, but for the sub-select around the setting, which Citus refuses outright.
		for _, p := range ddl.Policies(&single, table) {
			s := ddl.PolicyStmt(p, name)
			s.Using = strings.ReplaceAll(s.Using, "(SELECT "+ddl.CurrentTenant(m)+")", ddl.CurrentTenant(m))
			s.Check = strings.ReplaceAll(s.Check, "(SELECT "+ddl.CurrentTenant(m)+")", ddl.CurrentTenant(m))
			exec(t, conn, ddl.SQL(ddl.SingleNode, s))
		}
		var a, b string
		for _, id := range []*string{&a, &b} {
			require.NoError(t, conn.QueryRow(t.Context(), `WITH t AS (INSERT INTO pgtenant.tenants (identifier, name, created_by)
				VALUES ('t' || substr(md5(random()::text), 1, 8), 'T', 'test') RETURNING id)
				SELECT id::text FROM t`).Scan(id))
			exec(t, conn, `INSERT INTO content_namespace (tenant_id, slug, name) VALUES ($1, 'ns', 'NS')`, *id)
			exec(t, conn, `INSERT INTO webpages_webpage (tenant_id, namespace_id, slug, title, is_published, published_at)
				SELECT tenant_id, id, 'p', 'P', true, now() FROM content_namespace WHERE tenant_id = $1`, *id)
		}
		exec(t, conn, `CREATE ROLE leak_web LOGIN IN ROLE reader`)
		cfg, err := pgx.ParseConfig(c.CoordinatorURL())
		require.NoError(t, err)
		cfg.User, cfg.Password = "leak_web", ""
		web, err := pgx.ConnectConfig(t.Context(), cfg)
		require.NoError(t, err)
		defer web.Close(t.Context())
		tx, err := web.Begin(t.Context())
		require.NoError(t, err)
		defer tx.Rollback(t.Context()) //nolint:errcheck
		_, err = tx.Exec(t.Context(), "SET LOCAL citus.propagate_set_commands = 'local'")
		require.NoError(t, err)
		_, err = tx.Exec(t.Context(), "SET LOCAL ROLE reader")
		require.NoError(t, err)
		var seen int
		require.NoError(t, tx.QueryRow(t.Context(), `SELECT count(DISTINCT tenant_id) FROM webpages_webpage`).Scan(&seen))
		assert.GreaterOrEqual(t, seen, 2, "with no tenant set, the reader sees the published pages of every tenant: "+
			"its RESTRICTIVE published-only policy is PERMISSIVE on the shards, ORed with nothing of the tenant")

		problems := checkShards(t, c, conn, m)
		var restrictive bool
		for _, p := range problems {
			restrictive = restrictive || strings.Contains(p.What, "RESTRICTIVE")
		}
		assert.True(t, restrictive, "%v", problems)
	})
}

func workerConn(t *testing.T, c *pgtest.Citus, port int) *pgx.Conn {
	t.Helper()
	for i := range c.Workers {
		if c.Workers[i].Port == port {
			conn, err := pgx.Connect(t.Context(), c.WorkerURL(i))
			require.NoError(t, err)
			t.Cleanup(func() { _ = conn.Close(t.Context()) })
			return conn
		}
	}
	t.Fatalf("no worker on port %d", port)
	return nil
}
