package httpapi_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRead_Operators runs every filter operator of the grammar, not., the
// logic trees and repeated keys against acme's seeded pages (and theme),
// while globex holds rows with the same slugs that must never show up.
func TestRead_Operators(t *testing.T) {
	s := newServer(t)
	a := s.acmeApp()
	a.seed(t, "Acme")
	s.globexApp().seed(t, "Globex")

	tests := []struct {
		name  string
		table string // default webpages_webpage
		query []string
		want  []string // slugs (or theme names), sorted
	}{
		{"eq", "", []string{"slug", "eq.home"}, []string{"home"}},
		{"neq", "", []string{"slug", "neq.home"}, []string{"about", "blog", "draft"}},
		{"gt", "", []string{"published_at", "gt.2026-01-15T00:00:00Z"}, []string{"about"}},
		{"gte", "", []string{"published_at", "gte.2026-01-01T00:00:00Z"}, []string{"about", "home"}},
		{"lt", "", []string{"published_at", "lt.2026-02-01T00:00:00Z"}, []string{"home"}},
		{"lte", "", []string{"published_at", "lte.2026-02-01T00:00:00Z"}, []string{"about", "home"}},
		{"like with %", "", []string{"title", "like.%Blog"}, []string{"blog"}},
		{"like with *", "", []string{"title", "like.*bout*"}, []string{"about"}},
		{"like is case-sensitive", "", []string{"title", "like.*HOME*"}, nil},
		{"ilike", "", []string{"title", "ilike.*HOME*"}, []string{"home"}},
		{"like(any)", "", []string{"slug", "like(any).{h*,a*}"}, []string{"about", "home"}},
		{"in", "", []string{"slug", "in.(home,draft)"}, []string{"draft", "home"}},
		{"in with quoted items", "", []string{"slug", `in.("home","a,b",q"r)`}, []string{"home"}},
		{"in empty list", "", []string{"slug", "in.()"}, nil},
		{"is null", "", []string{"body", "is.null"}, []string{"draft"}},
		{"is not_null", "", []string{"body", "is.not_null"}, []string{"about", "blog", "home"}},
		{"is true", "", []string{"is_published", "is.true"}, []string{"about", "home"}},
		{"is false", "", []string{"is_published", "is.false"}, []string{"blog", "draft"}},
		{"cs on jsonb", "webpages_pagetheme", []string{"settings", `cs.{"color":"black"}`}, []string{"dark"}},
		{"cs on jsonb no match", "webpages_pagetheme", []string{"settings", `cs.{"color":"white"}`}, nil},
		{"cs on a json array", "webpages_pagetheme", []string{"settings->tags", `cs.["calm"]`}, []string{"dark"}},
		{"cd on jsonb", "webpages_pagetheme",
			[]string{"settings", `cd.{"color":"black","size":12,"tags":["night","calm"],"extra":true}`}, []string{"dark"}},
		{"cd on jsonb no match", "webpages_pagetheme", []string{"settings", `cd.{"color":"black"}`}, nil},
		{"fts", "", []string{"body", "fts.sat"}, []string{"blog"}},
		{"fts with a config stems", "", []string{"body", "fts(english).cats"}, []string{"about", "blog"}},
		{"fts with a tsquery", "", []string{"body", "fts(english).cat & mat"}, []string{"blog"}},
		{"plfts", "", []string{"body", "plfts(english).cats dogs"}, []string{"about"}},
		{"phfts", "", []string{"body", "phfts(english).cat sat"}, []string{"blog"}},
		{"wfts", "", []string{"body", "wfts(english).cat -dog"}, []string{"blog"}},
		{"not.eq", "", []string{"slug", "not.eq.home"}, []string{"about", "blog", "draft"}},
		{"not.in", "", []string{"slug", "not.in.(home,draft)"}, []string{"about", "blog"}},
		{"not.is.null", "", []string{"body", "not.is.null"}, []string{"about", "blog", "home"}},
		{"not.like", "", []string{"title", "not.like.*o*"}, []string{"draft"}},
		{"or", "", []string{"or", "(slug.eq.home,slug.eq.about)"}, []string{"about", "home"}},
		{"or nested and", "", []string{"or", "(slug.eq.home,and(is_published.is.false,body.is.null))"},
			[]string{"draft", "home"}},
		{"and", "", []string{"and", "(is_published.is.true,slug.neq.home)"}, []string{"about"}},
		{"and nested or with not", "", []string{"and", "(is_published.is.false,not.or(slug.eq.blog,body.is.null))"}, nil},
		{"not.or", "", []string{"not.or", "(slug.eq.home,slug.eq.about)"}, []string{"blog", "draft"}},
		{"not.and", "", []string{"not.and", "(is_published.is.true,slug.eq.home)"}, []string{"about", "blog", "draft"}},
		{"or with a quoted operand", "", []string{"or", `(title.eq."Acme About us",slug.eq.x)`}, []string{"about"}},
		{"or with fts and in", "", []string{"or", "(body.fts(english).dogs,slug.in.(draft))"}, []string{"about", "draft"}},
		{"repeated keys are ANDed", "",
			[]string{"published_at", "gte.2026-01-01T00:00:00Z", "published_at", "lt.2026-02-01T00:00:00Z"}, []string{"home"}},
		{"repeated eq on one column match nothing", "", []string{"slug", "eq.home", "slug", "eq.about"}, nil},
		{"a filter and a tree are ANDed", "", []string{"is_published", "is.true", "or", "(slug.eq.home,slug.eq.blog)"},
			[]string{"home"}},
		{"tenant column filter on own id", "", []string{"tenant_id", "eq." + s.acme.ID, "slug", "eq.home"}, []string{"home"}},
		{"tenant column filter on another tenant", "", []string{"tenant_id", "eq." + s.globex.ID}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, key := tt.table, "slug"
			if table == "" {
				table = "webpages_webpage"
			}
			if table == "webpages_pagetheme" {
				key = "name"
			}
			r := a.get(t, "/"+table+q(append([]string{"select", key + ",tenant_id"}, tt.query...)...))
			r.requireStatus(t, http.StatusOK)
			rows := r.rows(t)
			want := tt.want
			if want == nil {
				want = []string{}
			}
			assert.Equal(t, want, col(rows, key))
			for _, row := range rows {
				assert.Equal(t, s.acme.ID, row["tenant_id"], "a row of another tenant")
			}
		})
	}
}

// TestRead_SelectOrderPage covers select (*, aliases, casts, JSON paths),
// order with nulls placement, limit/offset, the Range header and counts,
// comparing whole bodies and the Content-Range header.
func TestRead_SelectOrderPage(t *testing.T) {
	s := newServer(t)
	a := s.acmeApp()
	acme := a.seed(t, "Acme")
	s.globexApp().seed(t, "Globex")

	tests := []struct {
		name    string
		table   string
		query   []string
		headers []string
		status  int
		body    string // compact JSON
		rng     string // Content-Range
	}{
		{"alias", "", []string{"select", "name:title,slug", "slug", "eq.home"}, nil,
			200, `[{"name":"Acme Home","slug":"home"}]`, "0-0/*"},
		{"cast", "", []string{"select", "slug,is_published::text", "slug", "eq.home"}, nil,
			200, `[{"slug":"home","is_published":"true"}]`, "0-0/*"},
		{"alias and cast", "", []string{"select", "published:is_published::text", "slug", "eq.draft"}, nil,
			200, `[{"published":"false"}]`, "0-0/*"},
		{"json paths", "webpages_pagetheme", []string{"select", "name,color:settings->>color,settings->size,settings->tags->0"},
			nil, 200, `[{"name":"dark","color":"black","size":12,"tags":"night"}]`, "0-0/*"},
		{"empty select gives empty objects", "", []string{"select", "", "slug", "eq.home"}, nil, 200, `[{}]`, "0-0/*"},
		{"nullsfirst", "", []string{"select", "slug", "order", "body.asc.nullsfirst"}, nil,
			200, `[{"slug":"draft"},{"slug":"about"},{"slug":"blog"},{"slug":"home"}]`, "0-3/*"},
		{"nullslast", "", []string{"select", "slug", "order", "body.asc.nullslast"}, nil,
			200, `[{"slug":"about"},{"slug":"blog"},{"slug":"home"},{"slug":"draft"}]`, "0-3/*"},
		{"desc nullslast then asc", "", []string{"select", "slug", "order", "published_at.desc.nullslast,slug"}, nil,
			200, `[{"slug":"about"},{"slug":"home"},{"slug":"blog"},{"slug":"draft"}]`, "0-3/*"},
		{"desc nullsfirst", "", []string{"select", "slug", "order", "published_at.desc.nullsfirst,slug.desc"}, nil,
			200, `[{"slug":"draft"},{"slug":"blog"},{"slug":"about"},{"slug":"home"}]`, "0-3/*"},
		{"order by json path", "webpages_pagetheme", []string{"select", "name", "order", "settings->>color.desc"}, nil,
			200, `[{"name":"dark"}]`, "0-0/*"},
		{"limit and offset", "", []string{"select", "slug", "order", "slug", "limit", "2", "offset", "1"}, nil,
			200, `[{"slug":"blog"},{"slug":"draft"}]`, "1-2/*"},
		{"limit 0", "", []string{"select", "slug", "limit", "0"}, nil, 200, `[]`, "*/*"},
		{"offset past the end without count", "", []string{"select", "slug", "offset", "10"}, nil, 200, `[]`, "*/*"},
		{"range header", "", []string{"select", "slug", "order", "slug"}, []string{"Range: 1-2"},
			200, `[{"slug":"blog"},{"slug":"draft"}]`, "1-2/*"},
		{"range header with items unit and count", "", []string{"select", "slug", "order", "slug"},
			[]string{"Range: items=0-0", "Prefer: count=exact"}, 206, `[{"slug":"about"}]`, "0-0/4"},
		{"range header open-ended", "", []string{"select", "slug", "order", "slug"}, []string{"Range: 2-"},
			200, `[{"slug":"draft"},{"slug":"home"}]`, "2-3/*"},
		{"range header intersected with limit and offset", "",
			[]string{"select", "slug", "order", "slug", "limit", "2", "offset", "1"}, []string{"Range: 2-3"},
			200, `[{"slug":"draft"}]`, "2-2/*"},
		{"range header disjoint from limit", "", []string{"select", "slug", "order", "slug", "limit", "1"},
			[]string{"Range: 1-3"}, 200, `[]`, "*/*"},
		{"range header ending before it starts", "", nil, []string{"Range: 3-1"}, 416, "", ""},
		{"count exact, all rows", "", []string{"select", "slug", "order", "slug"}, []string{"Prefer: count=exact"},
			200, `[{"slug":"about"},{"slug":"blog"},{"slug":"draft"},{"slug":"home"}]`, "0-3/4"},
		{"count exact, partial page", "", []string{"select", "slug", "order", "slug", "limit", "2"},
			[]string{"Prefer: count=exact"}, 206, `[{"slug":"about"},{"slug":"blog"}]`, "0-1/4"},
		{"count exact, second page", "", []string{"select", "slug", "order", "slug", "limit", "2", "offset", "2"},
			[]string{"Prefer: count=exact"}, 206, `[{"slug":"draft"},{"slug":"home"}]`, "2-3/4"},
		{"count exact ignores limit and offset but not filters", "",
			[]string{"select", "slug", "is_published", "is.true", "limit", "1"}, []string{"Prefer: count=exact"},
			206, `[{"slug":"home"}]`, "0-0/2"},
		{"count exact, nothing matches", "", []string{"select", "slug", "slug", "eq.nope"},
			[]string{"Prefer: count=exact"}, 200, `[]`, "*/0"},
		{"count planned counts exactly", "", []string{"select", "slug", "slug", "eq.home"},
			[]string{"Prefer: count=planned"}, 200, `[{"slug":"home"}]`, "0-0/1"},
		{"offset equal to the total is an empty page", "", []string{"select", "slug", "offset", "4"},
			[]string{"Prefer: count=exact"}, 206, `[]`, "*/4"},
		{"offset beyond the total", "", []string{"select", "slug", "offset", "5"}, []string{"Prefer: count=exact"},
			416, "", "*/4"},
		{"offset beyond a total of 0", "", []string{"select", "slug", "slug", "eq.nope", "offset", "1"},
			[]string{"Prefer: count=exact"}, 416, "", "*/0"},
		{"prefer values are split on commas", "", []string{"select", "slug", "slug", "eq.home"},
			[]string{"Prefer: handling=lenient, count=exact"}, 200, `[{"slug":"home"}]`, "0-0/1"},
		{"accept */* is json", "", []string{"select", "slug", "slug", "eq.home"}, []string{"Accept: */*"},
			200, `[{"slug":"home"}]`, "0-0/*"},
		{"accept array+json is json", "", []string{"select", "slug", "slug", "eq.home"},
			[]string{"Accept: application/vnd.pgrst.array+json"}, 200, `[{"slug":"home"}]`, "0-0/*"},
		{"accept-profile public", "", []string{"select", "slug", "slug", "eq.home"}, []string{"Accept-Profile: public"},
			200, `[{"slug":"home"}]`, "0-0/*"},
		{"shared table", "content_language", nil, nil, 200, `[]`, "*/*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := tt.table
			if table == "" {
				table = "webpages_webpage"
			}
			r := a.get(t, "/"+table+q(tt.query...), tt.headers...)
			require.Equal(t, tt.status, r.Status, "body %s", r.Body)
			if tt.status >= 400 {
				e := r.error(t)
				assert.Equal(t, "PGRST103", e.Code)
				assert.Equal(t, tt.rng, r.Header.Get("Content-Range"), "a counted 416 says the total, as PostgREST")
				return
			}
			assert.JSONEq(t, tt.body, string(r.Body))
			assert.Equal(t, tt.body, compactJSON(t, r.Body), "row and key order")
			assert.Equal(t, tt.rng, r.Header.Get("Content-Range"))
			assert.Equal(t, "application/json; charset=utf-8", r.Header.Get("Content-Type"))
		})
	}

	t.Run("select star", func(t *testing.T) {
		r := a.get(t, "/webpages_webpage"+q("slug", "eq.home")).requireStatus(t, http.StatusOK)
		rows := r.rows(t)
		require.Len(t, rows, 1)
		var keys []string
		for k := range rows[0] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		assert.Equal(t, []string{"body", "category_id", "created_at", "hero_media_id", "id", "is_published", "namespace_id",
			"published_at", "slug", "tenant_id", "theme_id", "title", "updated_at"}, keys)
		assert.Equal(t, s.acme.ID, rows[0]["tenant_id"])
		assert.Equal(t, acme.pages["home"], rows[0]["id"])
		assert.Equal(t, "Welcome to the home page", rows[0]["body"])
		assert.Equal(t, true, rows[0]["is_published"])
	})
	t.Run("star with an alias and a cast", func(t *testing.T) {
		r := a.get(t, "/webpages_webpage"+q("select", "*,label:title,n:is_published::int", "slug", "eq.home"))
		r.requireStatus(t, http.StatusOK)
		rows := r.rows(t)
		require.Len(t, rows, 1)
		assert.Equal(t, "Acme Home", rows[0]["label"])
		assert.Equal(t, float64(1), rows[0]["n"])
		assert.Equal(t, "Acme Home", rows[0]["title"])
	})
}

// TestRead_MediaTypes covers Accept: the singular object, CSV, HEAD and the
// refusals.
func TestRead_MediaTypes(t *testing.T) {
	s := newServer(t)
	a := s.acmeApp()
	a.seed(t, "Acme")
	s.globexApp().seed(t, "Globex")
	const object = "Accept: application/vnd.pgrst.object+json"

	t.Run("singular, one row", func(t *testing.T) {
		r := a.get(t, "/webpages_webpage"+q("select", "slug,title", "slug", "eq.home"), object)
		r.requireStatus(t, http.StatusOK)
		assert.Equal(t, `{"slug":"home","title":"Acme Home"}`, compactJSON(t, r.Body))
		assert.Equal(t, "application/vnd.pgrst.object+json; charset=utf-8", r.Header.Get("Content-Type"))
	})
	for _, tt := range []struct {
		name  string
		query []string
		n     string
	}{
		{"singular, no row", []string{"slug", "eq.nope"}, "0"},
		{"singular, two rows", []string{"slug", "in.(home,about)"}, "2"},
		{"singular, only another tenant's row", []string{"title", "eq.Globex Home"}, "0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := a.get(t, "/webpages_webpage"+q(tt.query...), object)
			r.requireStatus(t, http.StatusNotAcceptable)
			e := r.error(t)
			assert.Equal(t, "PGRST116", e.Code)
			assert.Equal(t, "JSON object requested, multiple (or no) rows returned", e.Message)
			require.NotNil(t, e.Details)
			assert.Equal(t, "The result contains "+tt.n+" rows", *e.Details)
		})
	}
	t.Run("csv", func(t *testing.T) {
		r := a.get(t, "/webpages_webpage"+q("select", "slug,title,body", "order", "slug"), "Accept: text/csv")
		r.requireStatus(t, http.StatusOK)
		assert.Equal(t, "text/csv; charset=utf-8", r.Header.Get("Content-Type"))
		assert.Equal(t, "slug,title,body\n"+
			"about,Acme About us,Our shop sells cats and dogs\n"+
			"blog,Acme Blog,The cat sat on the mat\n"+
			"draft,Acme Draft,\n"+
			"home,Acme Home,Welcome to the home page", string(r.Body))
		assert.Equal(t, "0-3/*", r.Header.Get("Content-Range"))
	})
	t.Run("csv quotes what needs quoting", func(t *testing.T) {
		a.insertOne(t, "webpages_pagetheme", map[string]any{"name": `comma, "quote"`})
		r := a.get(t, "/webpages_pagetheme"+q("select", "label:name", "name", "like.comma*"), "Accept: text/csv")
		r.requireStatus(t, http.StatusOK)
		assert.Equal(t, "label\n\"comma, \"\"quote\"\"\"", string(r.Body))
	})
	t.Run("csv, no rows", func(t *testing.T) {
		r := a.get(t, "/webpages_webpage"+q("select", "slug", "slug", "eq.nope"), "Accept: text/csv")
		r.requireStatus(t, http.StatusOK)
		assert.Equal(t, "slug\n", string(r.Body))
	})
	t.Run("first acceptable type wins", func(t *testing.T) {
		r := a.get(t, "/webpages_webpage"+q("select", "slug", "slug", "eq.home"), "Accept: application/xml, text/csv;q=0.5, */*")
		r.requireStatus(t, http.StatusOK)
		assert.Equal(t, "slug\nhome", string(r.Body))
	})
	for _, accept := range []string{"application/xml", "text/html", "image/png, application/pdf"} {
		t.Run("unsupported accept "+accept, func(t *testing.T) {
			r := a.get(t, "/webpages_webpage", "Accept: "+accept)
			r.requireStatus(t, http.StatusNotAcceptable)
			assert.Equal(t, "PGRST107", r.error(t).Code)
		})
	}
	t.Run("head has the headers of get and no body", func(t *testing.T) {
		get := a.get(t, "/webpages_webpage"+q("select", "slug", "limit", "2"), "Prefer: count=exact")
		head := a.do(t, http.MethodHead, "/webpages_webpage"+q("select", "slug", "limit", "2"), "", "Prefer: count=exact")
		assert.Equal(t, http.StatusPartialContent, get.Status)
		assert.Equal(t, get.Status, head.Status)
		assert.Empty(t, head.Body)
		for _, h := range []string{"Content-Range", "Content-Type", "Preference-Applied"} {
			assert.Equal(t, get.Header.Get(h), head.Header.Get(h), h)
		}
		// RFC 9110 section 8.6: a Content-Length on HEAD must be the length GET would send.
		if n := head.Header.Get("Content-Length"); n != "" {
			assert.Equal(t, get.Header.Get("Content-Length"), n, "Content-Length")
		}
		assert.Equal(t, "0-1/4", head.Header.Get("Content-Range"))
	})
	t.Run("head, singular with no row", func(t *testing.T) {
		r := a.do(t, http.MethodHead, "/webpages_webpage"+q("slug", "eq.nope"), "", object)
		assert.Equal(t, http.StatusNotAcceptable, r.Status)
		assert.Empty(t, r.Body)
	})
	t.Run("head, unknown column", func(t *testing.T) {
		r := a.do(t, http.MethodHead, "/webpages_webpage"+q("nope", "eq.1"), "")
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Empty(t, r.Body)
	})
}

// TestRead_MaxRows: Config.MaxRows caps every read, like PostgREST's
// db-max-rows, and counts still count every row.
func TestRead_MaxRows(t *testing.T) {
	s := newEnv(t).start(t, serverOpts{maxRows: 2})
	a := s.acmeApp()
	a.seed(t, "Acme")
	r := a.get(t, "/webpages_webpage"+q("select", "slug", "order", "slug")).requireStatus(t, http.StatusOK)
	assert.Equal(t, `[{"slug":"about"},{"slug":"blog"}]`, compactJSON(t, r.Body))
	assert.Equal(t, "0-1/*", r.Header.Get("Content-Range"))
	r = a.get(t, "/webpages_webpage"+q("select", "slug", "order", "slug", "limit", "3"), "Prefer: count=exact")
	r.requireStatus(t, http.StatusPartialContent)
	assert.Equal(t, "0-1/4", r.Header.Get("Content-Range"))
	r = a.get(t, "/webpages_webpage"+q("select", "slug", "order", "slug", "limit", "1")).requireStatus(t, http.StatusOK)
	assert.Equal(t, `[{"slug":"about"}]`, compactJSON(t, r.Body))
	// Writes are not capped.
	r = a.do(t, http.MethodPatch, "/webpages_webpage"+q("slug", "neq.x", "select", "slug"), `{"body":"b"}`, preferRepr)
	r.requireStatus(t, http.StatusOK)
	assert.Len(t, r.rows(t), 4)
}
