package query_test

import (
	"cmp"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/query"
	"pgtenant/schema"
)

// TestParse_Errors holds one row per way a request is refused, each checked
// with errors.Is / errors.As against the sentinel or type the HTTP layer maps.
func TestParse_Errors(t *testing.T) {
	m := model(t, "")
	parseErr := errors.New("*query.ParseError")
	tests := []struct {
		name    string
		method  string
		table   string
		query   string
		prefer  string
		body    string
		tenant  string
		limits  query.Limits
		wantErr error
		param   string // for ParseError and ColumnError
	}{
		{name: "unknown operator", query: "slug=equals.x", wantErr: parseErr, param: "slug"},
		{name: "no operator", query: "slug=about", wantErr: parseErr, param: "slug"},
		{name: "empty filter", query: "slug=", wantErr: parseErr, param: "slug"},
		{name: "bad is value", query: "body=is.nothing", wantErr: parseErr, param: "body"},
		{name: "in without list", query: "slug=in.a,b", wantErr: parseErr, param: "slug"},
		{name: "in unclosed", query: "slug=in.(a,b", wantErr: parseErr, param: "slug"},
		{name: "in trailing", query: "slug=in.(a)x", wantErr: parseErr, param: "slug"},
		{name: "quantifier on neq", query: "slug=neq(any).{a}", wantErr: parseErr, param: "slug"},
		{name: "bad quantifier", query: "slug=like(some).{a}", wantErr: parseErr, param: "slug"},
		{name: "fts bad config", query: "body=fts().cat", wantErr: parseErr, param: "body"},
		{name: "select syntax", query: "select=id,,title", wantErr: parseErr, param: "select"},
		{name: "select cast not allowed", query: "select=id::regclass", wantErr: parseErr, param: "select"},
		{name: "select cast injection", query: "select=id::text)%3Bdrop", wantErr: parseErr, param: "select"},
		{name: "select aggregate", query: "select=count()", wantErr: parseErr, param: "select"},
		{name: "json path on text", query: "select=title->a", wantErr: parseErr, param: "select"},
		{name: "json path filter on text", query: "title->>a=eq.1", wantErr: parseErr, param: "title->>a"},
		{name: "order syntax", query: "order=title.up", wantErr: parseErr, param: "order"},
		{name: "limit not a number", query: "limit=ten", wantErr: parseErr, param: "limit"},
		{name: "logic syntax", query: "or=(slug.eq.a", wantErr: parseErr, param: "or"},
		{name: "logic empty", query: "or=()", wantErr: parseErr, param: "or"},
		{name: "logic bad op", query: "or=(slug.eq.a,xor(b.eq.1))", wantErr: parseErr, param: "or"},
		{name: "invalid body", method: "POST", body: `{"title":`, wantErr: parseErr, param: query.BodyParam},
		{name: "body not object", method: "POST", body: `"x"`, wantErr: parseErr, param: query.BodyParam},
		{name: "array of non-objects", method: "POST", body: `[1]`, wantErr: parseErr, param: query.BodyParam},
		{name: "array with null", method: "POST", body: `[{"title":"a"},null]`, wantErr: parseErr, param: query.BodyParam},
		{name: "keys must match", method: "POST", body: `[{"title":"a"},{"slug":"b"}]`, wantErr: parseErr, param: query.BodyParam},
		{name: "patch array", method: "PATCH", query: "slug=eq.a", body: `[{"title":"a"}]`, wantErr: parseErr, param: query.BodyParam},
		{name: "empty body", method: "POST", body: ` `, wantErr: parseErr, param: query.BodyParam},
		{name: "strict prefer", prefer: "handling=strict, frobnicate", wantErr: parseErr, param: query.PreferParam},

		{name: "unknown filter column", query: "nope=eq.1", wantErr: query.ErrUnknownColumn, param: "nope"},
		{name: "unknown select column", query: "select=id,nope", wantErr: query.ErrUnknownColumn, param: "select"},
		{name: "unknown order column", query: "order=nope", wantErr: query.ErrUnknownColumn, param: "order"},
		{name: "unknown logic column", query: "or=(nope.eq.1,slug.eq.a)", wantErr: query.ErrUnknownColumn, param: "or"},
		{name: "unknown body key", method: "POST", body: `{"title":"a","nope":1}`, wantErr: query.ErrUnknownColumn, param: query.BodyParam},
		{name: "unknown columns name", method: "POST", query: "columns=title,nope", body: `{"title":"a"}`,
			wantErr: query.ErrUnknownColumn, param: "columns"},
		{name: "unknown on_conflict name", method: "POST", query: "on_conflict=nope", body: `{"title":"a"}`,
			prefer: "resolution=merge-duplicates", wantErr: query.ErrUnknownColumn, param: "on_conflict"},

		{name: "patch without filter", method: "PATCH", body: `{"title":"a"}`, wantErr: query.ErrNoFilter},
		{name: "delete without filter", method: "DELETE", wantErr: query.ErrNoFilter},
		{name: "delete with only limit order select", method: "DELETE", query: "limit=1&order=id&select=id",
			wantErr: query.ErrNoFilter},
		{name: "delete under tx=rollback", method: "DELETE", prefer: "tx=rollback", wantErr: query.ErrNoFilter},

		{name: "foreign tenant", method: "POST", body: `{"title":"a","tenant_id":"` + otherTenant + `"}`,
			wantErr: query.ErrForeignTenant},
		{name: "foreign tenant in a later row", method: "POST", query: "columns=title",
			body:    `[{"title":"a","tenant_id":"` + testTenant + `"},{"title":"b","tenant_id":"` + otherTenant + `"}]`,
			wantErr: query.ErrForeignTenant},
		{name: "null tenant", method: "POST", body: `{"title":"a","tenant_id":null}`, wantErr: query.ErrForeignTenant},
		{name: "foreign tenant on patch", method: "PATCH", query: "slug=eq.a", body: `{"tenant_id":"` + otherTenant + `"}`,
			wantErr: query.ErrForeignTenant},

		{name: "write to shared table", method: "POST", table: "content_language", body: `{"code":"fr"}`,
			wantErr: query.ErrReadOnly},
		{name: "delete from shared table", method: "DELETE", table: "content_language", query: "code=eq.fr",
			wantErr: query.ErrReadOnly},

		{name: "embed unbalanced open", query: "select=*,webpages_pagetheme(name", wantErr: parseErr, param: "select"},
		{name: "embed unbalanced close", query: "select=id),webpages_pagetheme(name)", wantErr: parseErr, param: "select"},
		{name: "embed two hints", query: "select=webpages_pagetheme!a!b(name)", wantErr: parseErr, param: "select"},
		{name: "embed no parens", query: "select=webpages_pagetheme!inner", wantErr: parseErr, param: "select"},
		{name: "embed count()", query: "select=count()", wantErr: parseErr, param: "select"},
		{name: "embed unknown column", query: "select=webpages_pagetheme(nope)", wantErr: query.ErrUnknownColumn, param: "select"},
		{name: "embed unknown filter column", query: "select=webpages_pagetheme(name)&webpages_pagetheme.nope=eq.1",
			wantErr: query.ErrUnknownColumn, param: "webpages_pagetheme.nope"},
		{name: "embed bad limit", query: "select=content_tag(name)&content_tag.limit=x", wantErr: parseErr, param: "limit"},
		{name: "embed negative offset", query: "select=content_tag(name)&content_tag.offset=-1", wantErr: query.ErrRange},
		{name: "embed select param", query: "select=content_tag(name)&content_tag.select=name", wantErr: parseErr,
			param: "content_tag.select"},
		{name: "embed filter other than is null", query: "select=id,content_tag(name)&content_tag=eq.x",
			wantErr: query.ErrUnknownColumn, param: "content_tag"},
		{name: "embed too deep", query: "select=content_namespace(webpages_webpage(content_namespace(slug)))",
			limits: query.Limits{MaxEmbedDepth: 2}, wantErr: query.ErrLimit},

		{name: "too deep", query: "or=(and(or(slug.eq.a,slug.eq.b),slug.eq.c),slug.eq.d)", limits: query.Limits{MaxDepth: 2},
			wantErr: query.ErrLimit},
		{name: "too many terms", query: "slug=eq.a&title=eq.b&or=(slug.eq.c,slug.eq.d)", limits: query.Limits{MaxTerms: 3},
			wantErr: query.ErrLimit},
		{name: "too many in values", query: "slug=in.(a,b,c)", limits: query.Limits{MaxInValues: 2}, wantErr: query.ErrLimit},
		{name: "too many built keys", query: "select=x:id" + strings.Repeat(",id", 50), wantErr: query.ErrLimit},
		{name: "too many built keys in an embed", query: "select=webpages_pagetheme(x:id" + strings.Repeat(",id", 50) + ")",
			wantErr: query.ErrLimit},

		{name: "negative limit", query: "limit=-1", wantErr: query.ErrRange},
		{name: "negative offset", query: "offset=-5", wantErr: query.ErrRange},

		{name: "no tenant", tenant: "-", wantErr: nil},
		{name: "unknown method", method: "PUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			r := query.Request{Model: m, Table: m.Table("webpages_webpage"), Method: "GET", Params: params,
				Body: []byte(tt.body), Tenant: testTenant, Limits: tt.limits}
			if tt.method != "" {
				r.Method = tt.method
			}
			if tt.table != "" {
				r.Table = m.Table(tt.table)
			}
			if tt.tenant == "-" {
				r.Tenant = ""
			}
			r.Prefer, err = query.ParsePrefer([]string{tt.prefer})
			if err == nil {
				_, err = query.Parse(r)
			}
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "query: "), err.Error())
			switch {
			case tt.wantErr == parseErr:
				pe, ok := errors.AsType[*query.ParseError](err)
				require.True(t, ok, "want *ParseError, got %v", err)
				assert.Equal(t, tt.param, pe.Param)
			case tt.wantErr == query.ErrUnknownColumn:
				assert.ErrorIs(t, err, query.ErrUnknownColumn)
				ce, ok := errors.AsType[*query.ColumnError](err)
				require.True(t, ok, "want *ColumnError, got %v", err)
				assert.Equal(t, tt.param, ce.Param)
				assert.Equal(t, tt.param == query.BodyParam || tt.param == "columns", ce.InBody())
			case tt.wantErr != nil:
				assert.ErrorIs(t, err, tt.wantErr)
			default:
				// A caller's mistake: none of the request errors.
				for _, s := range []error{query.ErrUnknownColumn, query.ErrNoFilter, query.ErrForeignTenant,
					query.ErrReadOnly, query.ErrEmbedding, query.ErrLimit, query.ErrRange} {
					assert.NotErrorIs(t, err, s)
				}
			}
		})
	}
}

// TestParse_TenantKeyDropped: a body may carry the request's own tenant in any
// letter case; it is never written.
func TestParse_TenantKeyDropped(t *testing.T) {
	m := model(t, "")
	q, err := query.Parse(query.Request{Model: m, Table: m.Table("webpages_pagetheme"), Method: "POST",
		Body: []byte(`[{"name":"a","tenant_id":"` + strings.ToUpper(testTenant) + `"},{"name":"b","tenant_id":"` +
			testTenant + `"}]`), Tenant: testTenant})
	require.NoError(t, err)
	sql, _ := q.SQL()
	assert.Contains(t, sql, "INSERT INTO public.webpages_pagetheme (name)")
}

// TestParse_UpsertWithoutKey: without on_conflict an upsert needs a primary key.
func TestParse_UpsertWithoutKey(t *testing.T) {
	m := &schema.Model{Tenancy: schema.DefaultTenancy, Tables: []*schema.Table{{Name: "log",
		Columns: []*schema.Column{{Name: "line", Type: "text"}}}}}
	r := query.Request{Model: m, Table: m.Tables[0], Method: "POST", Body: []byte(`{"line":"x"}`), Tenant: testTenant,
		Prefer: query.Prefer{Resolution: "merge-duplicates"}}
	_, err := query.Parse(r)
	pe, ok := errors.AsType[*query.ParseError](err)
	require.True(t, ok, "want *ParseError, got %v", err)
	assert.Equal(t, "on_conflict", pe.Param)

	r.Params = url.Values{"on_conflict": {"line"}}
	q, err := query.Parse(r)
	require.NoError(t, err)
	sql, _ := q.SQL()
	assert.Contains(t, sql, "ON CONFLICT (tenant_id, line) DO UPDATE SET line = EXCLUDED.line WHERE log.tenant_id = $2")
}

// TestParse_DuplicateKeys: a key given twice in an object of the body is refused with a *ParseError naming it
// (PostgREST's PGRST102 family), whichever key and whatever its values, before the tenant column is looked at:
// {"tenant_id": B, "tenant_id": A} was accepted (the last value won) while the reverse order was refused. Keys
// compare as decoded, so an escaped spelling is the same key. Inside a json or jsonb column's value the
// document is PostgreSQL's to read: a duplicate there is kept as PostgreSQL keeps it.
func TestParse_DuplicateKeys(t *testing.T) {
	m := model(t, "")
	own, other := `"`+testTenant+`"`, `"`+otherTenant+`"`
	tests := []struct {
		name, method, table, query, body string
		key                              string // the duplicate key named; "" when accepted
		pos                              int
	}{
		{name: "tenant column, another tenant first", body: `{"title":"a","tenant_id":` + other + `,"tenant_id":` + own + `}`, key: "tenant_id"},
		{name: "tenant column, own tenant first", body: `{"title":"a","tenant_id":` + own + `,"tenant_id":` + other + `}`, key: "tenant_id"},
		{name: "tenant column, own tenant twice", body: `{"title":"a","tenant_id":` + own + `,"tenant_id":` + own + `}`, key: "tenant_id"},
		{name: "a column", body: `{"title":"a","slug":"s","title":"b"}`, key: "title"},
		{name: "equal values", body: `{"title":"a","title":"a"}`, key: "title"},
		{name: "escaped spelling", body: `{"title":"a","t\u0069tle":"b"}`, key: "title"},
		{name: "unknown column twice", body: `{"nope":1,"nope":2}`, key: "nope"},
		{name: "on patch", method: "PATCH", query: "slug=eq.a", body: `{"title":"a","title":"b"}`, key: "title"},
		{name: "in a later row", query: "columns=title", body: `[{"title":"a"},{"title":"b","title":"c"}]`, key: "title", pos: 1},
		{name: "tenant column in a later row", body: `[{"title":"a","tenant_id":` + own + `},{"title":"b","tenant_id":` +
			other + `,"tenant_id":` + own + `}]`, key: "tenant_id", pos: 1},

		{name: "nested in a jsonb value", table: "webpages_pagetheme", body: `{"name":"x","settings":{"a":1,"a":2}}`},
		{name: "same key in two rows", body: `[{"title":"a"},{"title":"b"}]`},
		{name: "same key at two depths", table: "webpages_pagetheme", body: `{"name":"x","settings":{"name":"y"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			r := query.Request{Model: m, Table: m.Table(cmp.Or(tt.table, "webpages_webpage")), Method: cmp.Or(tt.method, "POST"),
				Params: params, Body: []byte(tt.body), Tenant: testTenant}
			_, err = query.Parse(r)
			if tt.key == "" {
				require.NoError(t, err)
				return
			}
			pe, ok := errors.AsType[*query.ParseError](err)
			require.True(t, ok, "want *ParseError, got %v", err)
			assert.Equal(t, query.BodyParam, pe.Param)
			assert.Equal(t, tt.pos, pe.Pos)
			assert.Contains(t, pe.Msg, `duplicate key "`+tt.key+`"`)
			assert.NotErrorIs(t, err, query.ErrForeignTenant)
		})
	}
}
