package query_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/query"
)

// TestSQL_EmbedTenancy runs embedding statements of one tenant next to
// another tenant's rows that reuse its ids (keys are (tenant_id, id), so a
// join on the id alone would match them) and next to cross-tenant
// references planted by the superuser with foreign keys switched off: a page
// whose theme exists only in the other tenant, and a junction row pointing
// at the other tenant's tag. Through every relationship kind, !inner, a
// related order, a spread and a filter inside an embed, nothing of the other
// tenant surfaces. Each statement also runs as the superuser, which
// row-level security does not restrict: the tenant predicates and tenant
// joins of the statement itself keep the other tenant out.
func TestSQL_EmbedTenancy(t *testing.T) {
	d := openDatabase(t, "")
	m := model(t, "")
	const (
		theirTag    = "66666666-6666-4666-8666-666666666666"
		theirTheme2 = "77777777-7777-4777-8777-777777777777"
		ourPage2    = "88888888-8888-4888-8888-888888888888"
		ourTag      = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	)
	// The other tenant's rows, with our seed ids, and the planted references.
	commitAll(t, d.admin, []string{
		`SET LOCAL session_replication_role = replica`, // no foreign key checks: the planted references
		`INSERT INTO content_namespace (tenant_id, id, slug, name, language_code) VALUES ('` + otherTenant + `', '` +
			seedNamespace + `', 'theirs', 'Theirs', 'en')`,
		`INSERT INTO webpages_pagetheme (tenant_id, id, name) VALUES ('` + otherTenant + `', '` + seedTheme + `', 'theirs-theme'),
			('` + otherTenant + `', '` + theirTheme2 + `', 'theirs-theme-2')`,
		`INSERT INTO content_tag (tenant_id, id, namespace_id, slug, name) VALUES ('` + otherTenant + `', '` + theirTag +
			`', '` + seedNamespace + `', 'theirs', 'theirs-tag')`,
		`INSERT INTO webpages_webpage (tenant_id, id, namespace_id, theme_id, slug, title) VALUES ('` + otherTenant +
			`', '` + seedPage + `', '` + seedNamespace + `', '` + seedTheme + `', 'theirs', 'Theirs')`,
		`INSERT INTO webpages_webpage_tags (tenant_id, webpage_id, tag_id) VALUES ('` + otherTenant + `', '` + seedPage +
			`', '` + theirTag + `')`,
		// Planted: our page on their theme, our junction row on their tag.
		`INSERT INTO webpages_webpage (tenant_id, id, namespace_id, theme_id, slug, title) VALUES ('` + testTenant +
			`', '` + ourPage2 + `', '` + seedNamespace + `', '` + theirTheme2 + `', 'planted', 'Planted')`,
		`INSERT INTO webpages_webpage_tags (tenant_id, webpage_id, tag_id) VALUES ('` + testTenant + `', '` + seedPage +
			`', '` + theirTag + `')`,
	})
	// Ours, next to the seed rows: the about page gets the dark theme and a tag.
	ours := []string{
		`UPDATE webpages_webpage SET theme_id = '` + seedTheme + `' WHERE id = '` + seedPage + `'`,
		`INSERT INTO content_tag (id, namespace_id, slug, name) VALUES ('` + ourTag + `', '` + seedNamespace +
			`', 'ours', 'ours-tag')`,
		`INSERT INTO webpages_webpage_tags (webpage_id, tag_id) VALUES ('` + seedPage + `', '` + ourTag + `')`,
	}

	tests := []struct {
		name, table, query string
		want               []string // substrings of the body
	}{
		{name: "to-one, to-many, many-to-many", table: "webpages_webpage",
			query: "select=slug,webpages_pagetheme(name),content_tag(name),webpages_webpage_tags(tag_id)&order=slug",
			want:  []string{`"name":"dark"`, `"name":"ours-tag"`, `{"slug":"planted","webpages_pagetheme":null`}},
		{name: "nested one-to-many", table: "content_namespace", query: "select=slug,webpages_webpage(slug,content_tag(name))",
			want: []string{`"slug":"about"`, `"ours-tag"`}},
		{name: "inner many-to-many", table: "webpages_webpage", query: "select=slug,content_tag!inner(name)",
			want: []string{`[{"slug":"about","content_tag":[{"name":"ours-tag"}]}]`}},
		{name: "inner with a filter matching only theirs", table: "webpages_webpage",
			query: "select=slug,content_tag!inner(name)&content_tag.slug=eq.theirs", want: []string{`[]`}},
		{name: "inner to-one", table: "webpages_webpage", query: "select=slug,webpages_pagetheme!inner(name)",
			want: []string{`[{"slug":"about","webpages_pagetheme":{"name":"dark"}}]`}},
		{name: "many-to-many reverse", table: "content_tag", query: "select=name,webpages_webpage(slug)",
			want: []string{`[{"name":"ours-tag","webpages_webpage":[{"slug":"about"}]}]`}},
		{name: "spread and related order", table: "webpages_webpage",
			query: "select=slug,...webpages_pagetheme(name)&order=webpages_pagetheme(name).nullslast",
			want:  []string{`{"slug":"about","name":"dark"}`, `{"slug":"planted","name":null}`}},
		{name: "or inside an embed", table: "content_namespace",
			query: "select=slug,webpages_webpage(slug)&webpages_webpage.or=(slug.eq.theirs,slug.eq.about)",
			want:  []string{`[{"slug":"main","webpages_webpage":[{"slug":"about"}]}]`}},
		{name: "null filter: pages without a tag of ours", table: "webpages_webpage",
			query: "select=slug,content_tag(name)&content_tag=is.null", want: []string{`[{"slug":"planted","content_tag":[]}]`}},
		{name: "null filter: pages with a theme of ours", table: "webpages_webpage",
			query: "select=slug,webpages_pagetheme(name)&webpages_pagetheme=not.is.null",
			want:  []string{`[{"slug":"about","webpages_pagetheme":{"name":"dark"}}]`}},
		{name: "shared root", table: "content_language", query: "select=code,content_namespace(slug)",
			want: []string{`[{"code":"en","content_namespace":[]}]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			q, err := query.Parse(query.Request{Model: m, Table: m.Table(tt.table), Method: "GET", Params: params,
				Tenant: testTenant})
			require.NoError(t, err)
			sql, args := q.SQL()
			for name, pool := range map[string]bool{"app": true, "superuser": false} {
				p := d.app
				if !pool {
					p = d.admin
				}
				res, err := runWith(t, p, testTenant, append(append([]string{}, seeds[""]...), ours...), sql, args)
				require.NoError(t, err, name)
				body := string(res.Body)
				t.Logf("%s: %s", name, body)
				for _, w := range tt.want {
					assert.Contains(t, body, w, name)
				}
				for _, theirs := range []string{"theirs", otherTenant} {
					assert.NotContains(t, body, theirs, name)
				}
				if q.Streams() {
					rsql, rargs := q.RowsSQL()
					rows, err := rowsWith(t, p, testTenant, append(append([]string{}, seeds[""]...), ours...), rsql, rargs)
					require.NoError(t, err, name)
					assert.JSONEq(t, body, "["+strings.Join(rows, ",")+"]", "RowsSQL, "+name)
				}
			}
		})
	}
}

// commitAll runs stmts on pool in one transaction and commits it.
func commitAll(t *testing.T, pool *pgxpool.Pool, stmts []string) {
	t.Helper()
	tx, err := pool.Begin(t.Context())
	require.NoError(t, err)
	for _, s := range stmts {
		_, err := tx.Exec(t.Context(), s)
		require.NoError(t, err, s)
	}
	require.NoError(t, tx.Commit(t.Context()))
}

// inTx runs fn on pool in a transaction bound to tenant, after the setup
// statements, and rolls it all back.
func inTx(t *testing.T, pool *pgxpool.Pool, tenant string, setup []string, fn func(pgx.Tx) error) error {
	ctx := t.Context()
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT set_config('app.current_tenant_id', $1, true)`, tenant); err != nil {
		return err
	}
	for _, s := range setup {
		if _, err := tx.Exec(ctx, s); err != nil {
			return err
		}
	}
	return fn(tx)
}

// runWith executes a statement of SQL (one Result row) with inTx.
func runWith(t *testing.T, pool *pgxpool.Pool, tenant string, setup []string, sql string, args []any) (query.Result, error) {
	var res query.Result
	err := inTx(t, pool, tenant, setup, func(tx pgx.Tx) error {
		return tx.QueryRow(t.Context(), sql, args...).Scan(res.Dest()...)
	})
	return res, err
}

// rowsWith executes a statement of RowsSQL with inTx: the body of every
// row, in order.
func rowsWith(t *testing.T, pool *pgxpool.Pool, tenant string, setup []string, sql string, args []any) ([]string, error) {
	var out []string
	err := inTx(t, pool, tenant, setup, func(tx pgx.Tx) error {
		rows, err := tx.Query(t.Context(), sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n int64
			var body string
			if err := rows.Scan(&n, &body); err != nil {
				return err
			}
			out = append(out, body)
		}
		return rows.Err()
	})
	return out, err
}
