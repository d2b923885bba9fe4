package query_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/query"
)

// TestSQL_Tenancy runs statements of one tenant next to another tenant's
// rows: reads, updates and deletes see none of them, and an upsert whose
// conflict columns match the other tenant's row inserts its own. Each is also
// run as the superuser, which row-level security does not restrict: the
// statement's own tenant predicate (DESIGN.md §9, invariant 4) still keeps
// the other tenant out.
func TestSQL_Tenancy(t *testing.T) {
	d := openDatabase(t, "")
	m := model(t, "")
	const otherPage = "77777777-7777-4777-8777-777777777777"
	tx, err := d.app.Begin(t.Context())
	require.NoError(t, err)
	for _, s := range []string{
		`SELECT set_config('app.current_tenant_id', '` + otherTenant + `', true)`,
		`INSERT INTO content_namespace (id, slug, name) VALUES ('` + seedNamespace + `', 'main', 'Theirs')`,
		`INSERT INTO webpages_webpage (id, namespace_id, slug, title) VALUES ('` + otherPage + `', '` +
			seedNamespace + `', 'theirs', 'Theirs')`,
	} {
		_, err := tx.Exec(t.Context(), s)
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit(t.Context()))

	tests := []struct {
		name, method, query, prefer, body string
		wantPage, wantIns                 int64
	}{
		{name: "read", method: "GET", query: "select=slug", wantPage: 1}, // our seeded page only
		{name: "read by id", method: "GET", query: "id=eq." + otherPage},
		{name: "read by tenant", method: "GET", query: "tenant_id=eq." + otherTenant},
		{name: "update", method: "PATCH", query: "id=eq." + otherPage, body: `{"title":"x"}`},
		{name: "delete", method: "DELETE", query: "slug=eq.theirs"},
		{name: "upsert", method: "POST", query: "on_conflict=namespace_id,slug", prefer: "resolution=merge-duplicates",
			body: `{"namespace_id":"` + seedNamespace + `","slug":"theirs","title":"Ours"}`, wantPage: 1, wantIns: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			prefer, err := query.ParsePrefer([]string{tt.prefer})
			require.NoError(t, err)
			q, err := query.Parse(query.Request{Model: m, Table: m.Table("webpages_webpage"), Method: tt.method,
				Params: params, Prefer: prefer, Body: []byte(tt.body), Tenant: testTenant})
			require.NoError(t, err)
			sql, args := q.SQL()
			for name, run := range map[string]func() (query.Result, error){
				"app":       func() (query.Result, error) { return d.run(t.Context(), "", testTenant, sql, args) },
				"superuser": func() (query.Result, error) { return runAs(t.Context(), d.admin, "", testTenant, sql, args) },
			} {
				res, err := run()
				require.NoError(t, err, name)
				assert.Equal(t, tt.wantPage, res.PageTotal, name)
				assert.Equal(t, tt.wantIns, res.Inserted, name)
			}
		})
	}
	var title string
	require.NoError(t, d.admin.QueryRow(t.Context(), `SELECT title FROM webpages_webpage WHERE id = $1`, otherPage).Scan(&title))
	assert.Equal(t, "Theirs", title, "the other tenant's row is untouched")
}
