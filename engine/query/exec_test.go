package query_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/ddl"
	"pgtenant/engine/query"
	"pgtenant/internal/pgtest"
)

// The rows every golden case may refer to, created in each case's
// transaction.
const (
	seedNamespace = "22222222-2222-4222-8222-222222222222"
	seedTheme     = "33333333-3333-4333-8333-333333333333"
	seedPage      = "44444444-4444-4444-8444-444444444444"
	seedCategory  = "55555555-5555-4555-8555-555555555555"
	otherTenant   = "99999999-9999-4999-8999-999999999999"
)

var seeds = map[string][]string{
	"": {
		`INSERT INTO content_namespace (id, slug, name) VALUES ('` + seedNamespace + `', 'main', 'Main')`,
		`INSERT INTO webpages_pagetheme (id, name, settings) VALUES ('` + seedTheme +
			`', 'dark', '{"lang": "en", "colors": {"main": "#000"}, "items": [1, 2]}')`,
		`INSERT INTO webpages_webpage (id, namespace_id, slug, title, body) VALUES ('` + seedPage + `', '` +
			seedNamespace + `', 'about', 'About', 'hello cat and dog')`,
		`INSERT INTO content_category (id, namespace_id, slug, name, position) VALUES ('` + seedCategory + `', '` +
			seedNamespace + `', 'news', 'News', 1)`,
	},
	"types": {
		`INSERT INTO typed_item (tags, scores, doc, meta, search, label) VALUES ('{news,go}', '[1,10)', '{"a": 1}',
			'{"b": "x"}', to_tsvector('english', 'cats and dogs'), 'one')`,
	},
}

// database is a migrated database with the test tenant, and a pool logged
// in as the app role: the role the server runs statements as.
type database struct {
	app   *pgxpool.Pool
	admin *pgxpool.Pool // the superuser: setup, and proving what a statement does without RLS
}

// openDatabase returns a database for a model: migrations/ for policies.hcl,
// the generated DDL applied to an empty database for a testdata model.
func openDatabase(t *testing.T, name string) database {
	t.Helper()
	var db *pgtest.DB
	if name == "" {
		db = pgtest.New(t)
	} else {
		db = pgtest.NewEmpty(t)
		changes, err := ddl.Diff(nil, model(t, name))
		require.NoError(t, err)
		up, _ := ddl.Render(changes, ddl.SingleNode).Files()
		pgtest.ExecScript(t, db.Owner, up)
	}
	for i, tenant := range []string{testTenant, otherTenant} {
		_, err := db.Owner.Exec(t.Context(), `INSERT INTO pgtenant.tenants (id, identifier, name, created_by)
			VALUES ($1, $2, 'Test', 'query_test')`, tenant, fmt.Sprintf("tenant%d", i))
		require.NoError(t, err)
	}
	admin, err := pgxpool.New(t.Context(), db.AdminURL)
	require.NoError(t, err)
	t.Cleanup(admin.Close)
	if name == "" {
		// Shared rows are reference data: row-level security lets no role
		// write them, so the superuser seeds them.
		_, err = admin.Exec(t.Context(), `INSERT INTO content_language (code, name) VALUES ('en', 'English')`)
		require.NoError(t, err)
	}
	return database{app: db.Login(t, "app"), admin: admin}
}

// run executes a statement as the app role in a transaction bound to tenant,
// after the model's seed rows, and rolls it all back.
func (d database) run(ctx context.Context, modelName, tenant, sql string, args []any) (query.Result, error) {
	return runAs(ctx, d.app, modelName, tenant, sql, args)
}

func runAs(ctx context.Context, pool *pgxpool.Pool, modelName, tenant, sql string, args []any) (query.Result, error) {
	var res query.Result
	tx, err := pool.Begin(ctx)
	if err != nil {
		return res, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT set_config('app.current_tenant_id', $1, true)`, tenant); err != nil {
		return res, err
	}
	for _, s := range seeds[modelName] {
		if _, err := tx.Exec(ctx, s); err != nil {
			return res, err
		}
	}
	err = tx.QueryRow(ctx, sql, args...).Scan(res.Dest()...)
	return res, err
}

// TestParse_GoldenRuns runs every golden statement against a real
// PostgreSQL as the app role, in a transaction bound to the case's tenant:
// the golden SQL is not only stable but valid, and its arguments parse.
func TestParse_GoldenRuns(t *testing.T) {
	dbs := map[string]database{}
	for _, name := range caseNames(t) {
		tr := readCase(t, name)
		d, ok := dbs[tr.ModelName]
		if !ok {
			d = openDatabase(t, tr.ModelName)
			dbs[tr.ModelName] = d
		}
		t.Run(name, func(t *testing.T) {
			q, err := query.Parse(tr.Request)
			require.NoError(t, err)
			sql, args := q.SQL()
			tenant := tr.Tenant
			if tenant == "" {
				tenant = testTenant
			}
			res, err := d.run(t.Context(), tr.ModelName, tenant, sql, args)
			if tr.WantSQLState != "" {
				var pgErr *pgconn.PgError
				require.True(t, errors.As(err, &pgErr), "want SQLSTATE %s, got %v", tr.WantSQLState, err)
				assert.Equal(t, tr.WantSQLState, pgErr.Code, pgErr.Message)
				return
			}
			require.NoError(t, err, "%s\n%v", sql, args)
			assert.GreaterOrEqual(t, res.PageTotal, int64(0))
			t.Logf("page_total=%d inserted=%d total=%v body=%s", res.PageTotal, res.Inserted, res.Total, res.Body)
		})
	}
}
