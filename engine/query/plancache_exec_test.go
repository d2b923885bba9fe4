package query_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"pgtenant/engine/query"
)

// TestSQL_CachedPlan runs make bench's list and embedding statements (scenarios 2 and 7) as the server does, a
// prepared statement on one connection, and checks that PostgreSQL serves them from a cached generic plan after
// its five custom ones, rather than planning every execution afresh: the limit and is_published=eq.true are
// literals (pageSQL, boolLiteral), so the generic plan reads the partial index webpages_webpage_published as the
// custom one does, and costs no more.
func TestSQL_CachedPlan(t *testing.T) {
	d := openDatabase(t, "")
	m := model(t, "")
	ctx := t.Context()
	// A tenant with 2,000 pages, half of them published, and statistics: on a few rows every plan is cheap and
	// PostgreSQL would cache one whatever the statement's shape.
	commitAll(t, d.admin, []string{
		`INSERT INTO content_namespace (tenant_id, id, slug, name) VALUES ('` + testTenant + `', '` + seedNamespace +
			`', 'main', 'Main')`,
		`INSERT INTO webpages_webpage (tenant_id, namespace_id, slug, title, is_published, published_at)
			SELECT '` + testTenant + `', '` + seedNamespace + `', 'p' || i, 'Page ' || i, i % 2 = 0,
				CASE WHEN i % 2 = 0 THEN now() - i * interval '1 hour' END
			FROM generate_series(1, 2000) AS i`,
		`ANALYZE`,
	})
	for _, sel := range []string{"id,slug,title,published_at", "id,slug,title,published_at,webpages_pagetheme(name),content_tag(name)"} {
		params, err := url.ParseQuery("select=" + sel + "&is_published=eq.true&order=published_at.desc&limit=20")
		require.NoError(t, err)
		q, err := query.Parse(query.Request{Model: m, Table: m.Table("webpages_webpage"), Method: "GET", Params: params,
			Tenant: testTenant, MaxRows: 1000, Relationships: query.ModelRelationships(m)})
		require.NoError(t, err)
		sql, args := q.RowsSQL()
		conn, err := d.app.Acquire(ctx)
		require.NoError(t, err)
		tx, err := conn.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `SELECT set_config('app.current_tenant_id', $1, true)`, testTenant)
		require.NoError(t, err)
		for range 10 {
			rows, err := tx.Query(ctx, sql, args...)
			require.NoError(t, err)
			rows.Close()
			require.NoError(t, rows.Err())
		}
		var generic, custom int64
		require.NoError(t, tx.QueryRow(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements
			WHERE statement = $1`, sql).Scan(&generic, &custom))
		require.NoError(t, tx.Rollback(ctx))
		conn.Release()
		require.Positive(t, generic, "select=%s: %d custom plans and no generic one\n%s", sel, custom, sql)
	}
}
