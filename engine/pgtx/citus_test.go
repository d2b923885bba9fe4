package pgtx_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/ddl"
	"pgtenant/engine/pgtx"
	"pgtenant/internal/pgtest"
)

// citusMigrations are the Citus profile's golden migrations for the repository's declaration (less its sub-select
// policy), applied in order: the first migration, then a new tenant table and a new shared table.
var citusMigrations = []string{
	"../ddl/testdata/citus/create/cms/want.up.sql",
	"../ddl/testdata/citus/change/add-table/want.up.sql",
	"../ddl/testdata/citus/change/add-shared-table/want.up.sql",
}

// citusCluster starts a three-node cluster, applies the Citus migrations as the owner (the superuser), registers
// tenants until two sit on different workers, gives each two pages (one published), and returns the owner's pool,
// a runner whose login holds app and reader, its round-trip counter, and the two tenants.
func citusCluster(t *testing.T) (owner *pgxpool.Pool, r *pgtx.Runner, c *counter, a, b string) {
	c0 := pgtest.NewCitus(t)
	ocfg, err := pgxpool.ParseConfig(c0.CoordinatorURL())
	require.NoError(t, err)
	ocfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol // the migrations are scripts
	owner, err = pgxpool.NewWithConfig(t.Context(), ocfg)
	require.NoError(t, err)
	t.Cleanup(owner.Close)
	c0.Migrate(t, citusMigrations...)
	_, err = owner.Exec(t.Context(), `CREATE ROLE web LOGIN IN ROLE app, reader`)
	require.NoError(t, err)
	// Tenants until two live on different workers (the shard of the tenant in the anchor table).
	nodes := map[int]string{}
	for i := 0; len(nodes) < 2; i++ {
		require.Less(t, i, 40, "no two tenants on different workers")
		var id string
		var port int
		require.NoError(t, owner.QueryRow(t.Context(), `
			WITH t AS (INSERT INTO pgtenant.tenants (identifier, name, created_by) VALUES ('t' || $1::text, 'T', 'test') RETURNING id)
			SELECT t.id::text, s.nodeport FROM t, citus_shards s
			 WHERE s.shardid = get_shard_id_for_distribution_column('content_namespace', t.id)`, i).Scan(&id, &port))
		if _, ok := nodes[port]; !ok {
			nodes[port] = id
		}
	}
	var ids []string
	for _, id := range nodes {
		ids = append(ids, id)
	}
	for _, id := range ids {
		pgtest.ExecScript(t, owner, strings.ReplaceAll(`
			INSERT INTO content_namespace (tenant_id, slug, name) VALUES ('TENANT', 'ns', 'NS');
			INSERT INTO webpages_webpage (tenant_id, namespace_id, slug, title, is_published, published_at)
			SELECT tenant_id, id, 'page-' || g, 'Page', g = 1, CASE WHEN g = 1 THEN now() END
			  FROM content_namespace, generate_series(1, 2) g WHERE tenant_id = 'TENANT';`, "TENANT", id))
	}
	cfg, err := pgxpool.ParseConfig(strings.Replace(c0.CoordinatorURL(), strings.Split(strings.Split(c0.CoordinatorURL(), "//")[1], "@")[0], "web", 1))
	require.NoError(t, err)
	cfg.MaxConns = 1
	c = &counter{}
	cfg.ConnConfig.Tracer = c
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return owner, pgtx.New(pool), c, ids[0], ids[1]
}

func count(t *testing.T, r *pgtx.Runner, s pgtx.Scope, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, r.QueryRow(t.Context(), s, func(row pgx.Row) error { return row.Scan(&n) }, sql, args...))
	return n
}

func exec(t *testing.T, r *pgtx.Runner, s pgtx.Scope, sql string, args ...any) (int64, error) {
	t.Helper()
	var n int64
	err := r.Query(t.Context(), s, func(rows pgx.Rows) error {
		for rows.Next() {
		}
		n = rows.CommandTag().RowsAffected()
		return rows.Err()
	}, sql, args...)
	return n, err
}

// TestCitus_Isolation runs the isolation checks of the single-node suite on a real three-node cluster with the
// Citus profile: two tenants on different workers, the app and the reader role, no tenant, writes aimed at the
// other tenant's rows, a new tenant table, a tenant moved to its own shard; and each statement is one round trip
// routed to one shard.
func TestCitus_Isolation(t *testing.T) {
	owner, r, c, a, b := citusCluster(t)
	app := func(tenant string) pgtx.Scope {
		return pgtx.Scope{Setting: setting, Tenant: tenant, Role: "app", Citus: true}
	}
	reader := func(tenant string) pgtx.Scope {
		return pgtx.Scope{Setting: setting, Tenant: tenant, Role: "reader", ReadOnly: true, Citus: true}
	}
	pages := `SELECT count(*) FROM webpages_webpage WHERE tenant_id = $1`
	allPages := `SELECT count(*) FROM webpages_webpage`

	check := func(t *testing.T) {
		for _, tt := range []struct {
			name  string
			scope pgtx.Scope
			sql   string
			args  []any
			want  int
		}{
			{"app sees its tenant's pages", app(a), pages, []any{a}, 2},
			{"app sees only its tenant without a filter", app(a), allPages, nil, 2},
			{"app sees nothing of the other tenant", app(a), pages, []any{b}, 0},
			{"the other tenant likewise", app(b), allPages, nil, 2},
			{"no tenant: nothing", app(""), allPages, nil, 0},
			{"no tenant, no role: nothing", pgtx.Scope{Setting: setting, Citus: true}, allPages, nil, 0},
			{"reader sees published pages only", reader(a), pages, []any{a}, 1},
			{"reader sees nothing of the other tenant", reader(a), pages, []any{b}, 0},
			{"reader without a tenant: nothing", reader(""), allPages, nil, 0},
			{"reader sees the tenant's namespaces", reader(a), `SELECT count(*) FROM content_namespace WHERE tenant_id = $1`, []any{a}, 1},
			{"co-located join", app(a), `SELECT count(*) FROM webpages_webpage p JOIN content_namespace n
				ON n.tenant_id = p.tenant_id AND n.id = p.namespace_id WHERE p.tenant_id = $1`, []any{a}, 2},
			{"the view shows the tenant's published pages", app(a), `SELECT count(*) FROM published_pages`, nil, 1},
			{"the view, to the reader", reader(a), `SELECT count(*) FROM published_pages`, nil, 1},
			{"the view without a tenant: nothing", app(""), `SELECT count(*) FROM published_pages`, nil, 0},
			{"the view's rows and its correlated theme", app(a), `SELECT count(*) FROM published_pages WHERE theme_name IS NULL`, nil, 1},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := c.batches.Load() + c.queries.Load()
				assert.Equal(t, tt.want, count(t, r, tt.scope, tt.sql, tt.args...))
				assert.Equal(t, int64(1), c.batches.Load()+c.queries.Load()-before, "one round trip")
			})
		}
		t.Run("writes aimed at the other tenant touch nothing", func(t *testing.T) {
			n, err := exec(t, r, app(a), `UPDATE webpages_webpage SET title = 'x' WHERE tenant_id = $1`, b)
			require.NoError(t, err)
			assert.Zero(t, n)
			n, err = exec(t, r, app(a), `DELETE FROM webpages_webpage WHERE tenant_id = $1`, b)
			require.NoError(t, err)
			assert.Zero(t, n)
			n, err = exec(t, r, app(a), `UPDATE webpages_webpage SET title = 'x'`)
			require.NoError(t, err)
			assert.Equal(t, int64(2), n, "an unfiltered update changes the bound tenant's rows only")
			assert.Equal(t, 2, count(t, r, app(b), `SELECT count(*) FROM webpages_webpage WHERE title = 'Page'`))
		})
		t.Run("a row for the other tenant is refused", func(t *testing.T) {
			_, err := exec(t, r, app(a), `INSERT INTO content_namespace (tenant_id, slug, name)
				SELECT tenant_id, slug, name FROM json_populate_recordset(NULL::public.content_namespace, $1::json)`,
				`[{"tenant_id": "`+b+`", "slug": "x", "name": "X"}]`)
			// Refused: by the tenant policy's WITH CHECK (42501), or before it by Citus, which cannot send rows
			// bound for a shard of another tenant through its COPY path under row-level security (0A000).
			var pgErr *pgconn.PgError
			require.True(t, errors.As(err, &pgErr), "%v", err)
			assert.Contains(t, []string{"42501", "0A000"}, pgErr.Code, pgErr.Message)
			assert.Equal(t, 1, count(t, r, app(b), `SELECT count(*) FROM content_namespace`), "b has only its own namespace")
		})
		t.Run("the reader may not write", func(t *testing.T) {
			_, err := exec(t, r, reader(a), `UPDATE webpages_webpage SET title = 'x' WHERE tenant_id = $1`, a)
			var pgErr *pgconn.PgError
			require.True(t, errors.As(err, &pgErr), "%v", err)
			assert.Equal(t, "25006", pgErr.Code, "read-only transaction")
		})
		t.Run("a write with its audit record, in one round trip", func(t *testing.T) {
			s := app(a)
			s.Audit = &pgtx.Statement{SQL: ddl.AuditInsert, Args: []any{"req", "token", "app", "POST", "webpages_comment"}}
			before := c.batches.Load() + c.queries.Load()
			var page string
			require.NoError(t, owner.QueryRow(t.Context(),
				`SELECT id::text FROM webpages_webpage WHERE tenant_id = $1 AND slug = 'page-1'`, a).Scan(&page))
			// The statement the query layer writes for POST: INSERT … SELECT … FROM json_populate_recordset.
			n, err := exec(t, r, s, `WITH s AS (INSERT INTO webpages_comment (webpage_id, body)
				SELECT webpage_id, body FROM json_populate_recordset(NULL::public.webpages_comment, $1::json) RETURNING *)
				SELECT * FROM s`, `[{"webpage_id": "`+page+`", "body": "hi"}]`)
			require.NoError(t, err)
			assert.Equal(t, int64(1), n)
			assert.Equal(t, int64(1), c.batches.Load()+c.queries.Load()-before, "one round trip")
			var audited int
			require.NoError(t, owner.QueryRow(t.Context(), `SELECT count(*) FROM pgtenant.audit_log WHERE tenant_id = $1`, a).Scan(&audited))
			assert.Positive(t, audited)
			assert.Zero(t, count(t, r, app(b), `SELECT count(*) FROM webpages_comment`))
		})
		t.Run("a failed statement rolls back and leaves the connection usable", func(t *testing.T) {
			_, err := exec(t, r, app(a), `UPDATE webpages_webpage SET title = NULL WHERE tenant_id = $1`, a)
			require.Error(t, err)
			assert.Equal(t, 2, count(t, r, app(a), pages, a))
		})
		t.Run("router plan: one shard per tenant statement", func(t *testing.T) {
			var plan []string
			require.NoError(t, r.Query(t.Context(), app(a), func(rows pgx.Rows) error {
				for rows.Next() {
					var line string
					if err := rows.Scan(&line); err != nil {
						return err
					}
					plan = append(plan, line)
				}
				return rows.Err()
			}, `EXPLAIN SELECT p.* FROM webpages_webpage p JOIN content_namespace n
				ON n.tenant_id = p.tenant_id AND n.id = p.namespace_id WHERE p.tenant_id = $1`, a))
			text := strings.Join(plan, "\n")
			assert.Contains(t, text, "Task Count: 1", text)
		})
	}
	check(t)

	t.Run("a scope without a tenant setting is refused before any connection is taken", func(t *testing.T) {
		err := r.QueryRow(t.Context(), pgtx.Scope{Tenant: a, Citus: true}, func(pgx.Row) error { return nil }, "SELECT 1")
		assert.ErrorIs(t, err, pgtx.ErrNoScope)
	})

	t.Run("the new tenant table is distributed and co-located, the new shared table is a reference table", func(t *testing.T) {
		var colocated bool
		var kind string
		require.NoError(t, owner.QueryRow(t.Context(), `SELECT
			(SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'webpages_comment'::regclass) =
			(SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'content_namespace'::regclass),
			(SELECT partmethod::text FROM pg_dist_partition WHERE logicalrelid = 'content_country'::regclass)`).Scan(&colocated, &kind))
		assert.True(t, colocated)
		assert.Equal(t, "n", kind)
	})

	t.Run("after isolate_tenant_to_new_shard", func(t *testing.T) {
		_, err := owner.Exec(t.Context(), `SELECT isolate_tenant_to_new_shard('webpages_webpage', $1::uuid, 'CASCADE',
			shard_transfer_mode => 'block_writes')`, a)
		require.NoError(t, err)
		check(t)
	})
}
