package query_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/query"
)

// TestSQL_Semantics runs statements against a real PostgreSQL and checks
// what they return: the response body PostgreSQL writes, the counts the HTTP
// layer reads.
func TestSQL_Semantics(t *testing.T) {
	d := openDatabase(t, "")
	m := model(t, "")
	typed := openDatabase(t, "types")
	tests := []struct {
		name      string
		types     bool
		method    string
		table     string
		query     string
		prefer    string
		singular  bool
		csv       bool
		body      string
		want      string // the body, compared as JSON unless csv or empty
		wantPage  int64
		wantTotal int64 // -1: no total
		wantIns   int64
	}{
		{name: "list", method: "GET", table: "webpages_webpage", query: "select=id,title&slug=eq.about",
			want: `[{"id":"` + seedPage + `","title":"About"}]`, wantPage: 1, wantTotal: -1},
		{name: "count ignores limit", method: "GET", table: "content_category", query: "select=slug&limit=0",
			prefer: "count=exact", want: `[]`, wantPage: 0, wantTotal: 1},
		{name: "singular", method: "GET", table: "webpages_webpage", query: "select=slug&id=eq." + seedPage,
			singular: true, want: `{"slug":"about"}`, wantPage: 1, wantTotal: -1},
		{name: "alias and json path", method: "GET", table: "webpages_pagetheme",
			query: "select=theme:name,settings->colors->>main,settings->items->1,n:settings->items->>0::integer",
			want:  `[{"theme":"dark","main":"#000","items":2,"n":1}]`, wantPage: 1, wantTotal: -1},
		{name: "empty select", method: "GET", table: "webpages_pagetheme", query: "select=",
			want: `[{}]`, wantPage: 1, wantTotal: -1},
		{name: "csv", method: "GET", table: "webpages_webpage", query: "select=slug,title:body,body", csv: true,
			want: "slug,title,body\nabout,hello cat and dog,hello cat and dog", wantPage: 1, wantTotal: -1},
		{name: "csv quoting", method: "GET", table: "webpages_webpage",
			query: `select="a,b":slug,category_id`, csv: true,
			want: "\"a,b\",category_id\nabout,", wantPage: 1, wantTotal: -1},
		{name: "fts", method: "GET", table: "webpages_webpage", query: "select=slug&body=wfts(english).cats dogs",
			want: `[{"slug":"about"}]`, wantPage: 1, wantTotal: -1},
		{name: "in quoted", method: "GET", table: "webpages_webpage", query: `select=slug&slug=in.("x,y",about)`,
			want: `[{"slug":"about"}]`, wantPage: 1, wantTotal: -1},
		{name: "logic", method: "GET", table: "content_category",
			query: "select=slug&or=(slug.eq.none,and(position.gt.0,position.lt.2))",
			want:  `[{"slug":"news"}]`, wantPage: 1, wantTotal: -1},
		{name: "insert minimal", method: "POST", table: "webpages_pagetheme",
			body: `[{"name":"a"},{"name":"b"}]`, want: "", wantPage: 2, wantTotal: -1, wantIns: 2},
		{name: "merge counts updates apart", method: "POST", table: "webpages_pagetheme", query: "select=name",
			prefer: "resolution=merge-duplicates, return=representation, count=exact",
			body:   `[{"id":"` + seedTheme + `","name":"dark2"},{"id":"66666666-6666-4666-8666-666666666666","name":"new"}]`,
			want:   `[{"name":"dark2"},{"name":"new"}]`, wantPage: 2, wantTotal: 2, wantIns: 1},
		{name: "ignore skips duplicates", method: "POST", table: "webpages_pagetheme", query: "select=name",
			prefer: "resolution=ignore-duplicates, return=representation",
			body:   `[{"id":"` + seedTheme + `","name":"dark2"}]`, want: `[]`, wantPage: 0, wantTotal: -1},
		{name: "missing default object", method: "POST", table: "webpages_webpage", query: `columns=namespace_id,slug,title,is_published&select=is_published`,
			prefer: "missing=default, return=representation",
			body:   `{"namespace_id":"` + seedNamespace + `","slug":"x","title":"X"}`,
			want:   `[{"is_published":false}]`, wantPage: 1, wantTotal: -1, wantIns: 1},
		{name: "patch", method: "PATCH", table: "webpages_webpage", query: "slug=eq.about&select=title",
			prefer: "return=representation", body: `{"title":"New","tenant_id":"` + testTenant + `"}`,
			want: `[{"title":"New"}]`, wantPage: 1, wantTotal: -1},
		{name: "patch default", method: "PATCH", table: "content_category",
			query:  `slug=eq.news&columns=name,position&select=name,position`,
			prefer: "return=representation, missing=default", body: `{"name":"N"}`,
			want: `[{"name":"N","position":0}]`, wantPage: 1, wantTotal: -1},
		{name: "limited delete", method: "DELETE", table: "webpages_pagetheme", query: "name=like.*&order=name&limit=1&select=name",
			prefer: "return=representation, count=exact", want: `[{"name":"dark"}]`, wantPage: 1, wantTotal: 1},
		{name: "missing default array", types: true, method: "POST", table: "typed_item",
			query:  `columns=label,n,tags&select=label,n,tags`,
			prefer: "missing=default, return=representation",
			body:   `[{"label":"a","n":5},{"label":"b","tags":["x"]}]`,
			want:   `[{"label":"a","n":5,"tags":[]},{"label":"b","n":0,"tags":["x"]}]`, wantPage: 2, wantTotal: -1, wantIns: 2},
		{name: "array and range operators", types: true, method: "GET", table: "typed_item",
			query: "select=label&tags=cs.{go}&tags=ov.{news,x}&scores=sl.(20,30)&doc=cs.{\"a\":1}&search=fts(english).cat",
			want:  `[{"label":"one"}]`, wantPage: 1, wantTotal: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			prefer, err := query.ParsePrefer([]string{tt.prefer})
			require.NoError(t, err)
			mm, db, modelName := m, d, ""
			if tt.types {
				mm, db, modelName = model(t, "types"), typed, "types"
			}
			q, err := query.Parse(query.Request{Model: mm, Table: mm.Table(tt.table), Method: tt.method,
				Params: params, Prefer: prefer, Body: []byte(tt.body), Tenant: testTenant,
				Singular: tt.singular, CSV: tt.csv})
			require.NoError(t, err)
			sql, args := q.SQL()
			res, err := db.run(t.Context(), modelName, testTenant, sql, args)
			require.NoError(t, err, sql)
			switch {
			case tt.csv || tt.want == "":
				assert.Equal(t, tt.want, string(res.Body))
			default:
				assert.JSONEq(t, tt.want, string(res.Body))
			}
			assert.Equal(t, tt.wantPage, res.PageTotal, "page_total")
			assert.Equal(t, tt.wantIns, res.Inserted, "inserted")
			if tt.wantTotal < 0 {
				assert.Nil(t, res.Total)
			} else if assert.NotNil(t, res.Total) {
				assert.Equal(t, tt.wantTotal, *res.Total)
			}
		})
	}
}
