package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/introspect"
)

// TestViews: a declared view is read like a table (grammar, count, singular, CSV), under the tenant's RLS, and
// refuses writes.
func TestViews(t *testing.T) {
	s := newServer(t)
	acme, globex := s.acmeApp(), s.globexApp()
	acme.seed(t, "Acme")
	globex.seed(t, "Globex")

	rows := acme.get(t, "/published_pages"+q("select", "slug,title", "order", "slug.asc")).requireStatus(t, 200).rows(t)
	assert.Equal(t, []string{"about", "home"}, col(rows, "slug"))
	assert.Equal(t, []string{"Acme About us", "Acme Home"}, col(rows, "title"))
	rows = s.reader().get(t, "/published_pages"+q("select", "title")).requireStatus(t, 200).rows(t)
	assert.ElementsMatch(t, []string{"Acme About us", "Acme Home"}, col(rows, "title"))

	r := globex.get(t, "/published_pages"+q("slug", "eq.home", "limit", "1"), "Prefer: count=exact").requireStatus(t, 200)
	assert.Equal(t, "0-0/1", r.Header.Get("Content-Range"))
	obj := globex.get(t, "/published_pages"+q("slug", "eq.home", "select", "title"),
		"Accept: application/vnd.pgrst.object+json").requireStatus(t, 200).object(t)
	assert.Equal(t, "Globex Home", obj["title"])
	csv := acme.get(t, "/published_pages"+q("select", "slug", "order", "slug"), "Accept: text/csv").requireStatus(t, 200)
	assert.Equal(t, "slug\nabout\nhome", string(csv.Body))

	for _, m := range []string{http.MethodPost, http.MethodPatch, http.MethodDelete} {
		r := acme.do(t, m, "/published_pages"+q("slug", "eq.home"), `{"title":"x"}`).requireStatus(t, 405)
		assert.Equal(t, "GET, HEAD", r.Header.Get("Allow"))
	}
	assert.Equal(t, "42703", acme.get(t, "/published_pages"+q("select", "nope")).requireStatus(t, 400).error(t).Code)
	// A view's column that is a foreign key's column of the table it reads embeds the referenced table.
	rows = acme.get(t, "/published_pages"+q("select", "slug,content_namespace(name)", "order", "slug")).
		requireStatus(t, 200).rows(t)
	assert.Equal(t, []map[string]any{{"slug": "about", "content_namespace": map[string]any{"name": "Acme site"}},
		{"slug": "home", "content_namespace": map[string]any{"name": "Acme site"}}}, rows)
	rows = globex.get(t, "/rpc/search_pages"+q("q", "home", "select", "slug,content_namespace!inner(name)")).
		requireStatus(t, 200).rows(t)
	assert.Equal(t, []map[string]any{{"slug": "home", "content_namespace": map[string]any{"name": "Globex site"}}}, rows)
	// theme_name is not a foreign key's column: no relationship to the theme.
	r = acme.get(t, "/published_pages"+q("select", "*,webpages_pagetheme(name)"))
	assert.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	assert.Equal(t, "PGRST200", r.error(t).Code)
}

// TestRPC: the declared functions at /rpc/<name>.
func TestRPC(t *testing.T) {
	s := newServer(t)
	acme, globex := s.acmeApp(), s.globexApp()
	site := acme.seed(t, "Acme")
	globex.seed(t, "Globex")

	// POST and GET of a STABLE set-returning function, with the read grammar on its rows.
	rows := acme.do(t, http.MethodPost, "/rpc/search_pages", `{"q":"o"}`).requireStatus(t, 200).rows(t)
	assert.Equal(t, []string{"Acme About us", "Acme Home"}, col(rows, "title"))
	rows = globex.get(t, "/rpc/search_pages"+q("q", "home", "select", "slug,title")).requireStatus(t, 200).rows(t)
	assert.Equal(t, []map[string]any{{"slug": "home", "title": "Globex Home"}}, rows)
	r := acme.get(t, "/rpc/search_pages"+q("q", "", "slug", "eq.about", "select", "slug"), "Prefer: count=exact").
		requireStatus(t, 200)
	assert.Equal(t, []string{"about"}, col(r.rows(t), "slug"))
	assert.Equal(t, "0-0/1", r.Header.Get("Content-Range"))
	r = acme.do(t, http.MethodHead, "/rpc/search_pages"+q("q", "o"), "", "Prefer: count=exact").requireStatus(t, 200)
	assert.Equal(t, "0-1/2", r.Header.Get("Content-Range"))
	assert.Empty(t, r.Body)
	rows = acme.do(t, http.MethodPost, "/rpc/search_pages"+q("order", "slug.desc", "limit", "1"), `{"q":"o"}`).
		requireStatus(t, 200).rows(t)
	assert.Equal(t, []string{"home"}, col(rows, "slug"))
	rows = s.reader().get(t, "/rpc/search_pages"+q("q", "")).requireStatus(t, 200).rows(t)
	assert.Len(t, rows, 2, "the reader sees the published pages of acme only")

	// A VOLATILE function: refused on GET, run on POST; it returns one row, as an object.
	e := acme.get(t, "/rpc/publish_page"+q("page_id", site.pages["draft"])).requireStatus(t, 405).error(t)
	assert.Equal(t, "25006", e.Code)
	obj := acme.do(t, http.MethodPost, "/rpc/publish_page", mustJSON(t, map[string]any{"page_id": site.pages["draft"]})).
		requireStatus(t, 200).object(t)
	assert.Equal(t, true, obj["is_published"])
	assert.Equal(t, "draft", obj["slug"])
	// Another tenant's page is not found through the function: RLS applies inside it.
	e = globex.do(t, http.MethodPost, "/rpc/publish_page", mustJSON(t, map[string]any{"page_id": site.pages["blog"]})).
		requireStatus(t, 404).error(t)
	assert.Equal(t, "P0002", e.Code)
	assert.Equal(t, 0, s.count(t, "webpages_webpage", "id = $1 AND is_published", site.pages["blog"]))
	// The reader may not execute it: PostgreSQL's refusal, as PostgREST answers it.
	e = s.reader().do(t, http.MethodPost, "/rpc/publish_page", mustJSON(t, map[string]any{"page_id": site.pages["blog"]})).
		requireStatus(t, 403).error(t)
	assert.Equal(t, "42501", e.Code)

	// Bad calls, refused before any query.
	e = acme.do(t, http.MethodPost, "/rpc/search_page", `{"q":"o"}`).requireStatus(t, 404).error(t)
	assert.Equal(t, "PGRST202", e.Code)
	require.NotNil(t, e.Hint)
	assert.Contains(t, *e.Hint, "search_pages")
	assert.Equal(t, "PGT023", acme.do(t, http.MethodPost, "/rpc/search_pages", `{}`).requireStatus(t, 400).error(t).Code)
	assert.Equal(t, "PGT023", acme.do(t, http.MethodPost, "/rpc/search_pages", `{"q":"a","x":1}`).requireStatus(t, 400).error(t).Code)
	assert.Equal(t, "PGRST102", acme.do(t, http.MethodPost, "/rpc/search_pages", `["q"]`).requireStatus(t, 400).error(t).Code)
	assert.Equal(t, "PGT023", acme.do(t, http.MethodPost, "/rpc/search_pages", `{"q":"a"}`,
		"Prefer: params=single-object").requireStatus(t, 400).error(t).Code)
	assert.Equal(t, "22P02", acme.do(t, http.MethodPost, "/rpc/publish_page", `{"page_id":"nope"}`).
		requireStatus(t, 400).error(t).Code)
	acme.do(t, http.MethodPatch, "/rpc/search_pages", `{"q":"a"}`).requireStatus(t, 405)
}

// TestRPC_Results: what each kind of function answers, as PostgREST: a scalar its JSON value, a set of scalars an
// array, void 204, a single-object function its JSON argument, defaults for left-out arguments. The functions are
// created here (as the superuser, EXECUTE left to PUBLIC) and the schema reloaded.
func TestRPC_Results(t *testing.T) {
	s := newServer(t)
	a := s.acmeApp()
	a.seed(t, "Acme")
	_, err := s.admin.Exec(t.Context(), `
CREATE FUNCTION public.count_pages(published boolean DEFAULT true) RETURNS bigint LANGUAGE sql STABLE
  AS 'SELECT count(*) FROM public.webpages_webpage WHERE is_published = published';
CREATE FUNCTION public.page_slugs() RETURNS SETOF text LANGUAGE sql STABLE
  AS 'SELECT slug FROM public.webpages_webpage ORDER BY slug';
CREATE FUNCTION public.touch(n integer) RETURNS void LANGUAGE sql VOLATILE AS 'SELECT';
CREATE FUNCTION public.echo(body jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS 'SELECT body';
CREATE FUNCTION public.greet(who text, punct text DEFAULT '!') RETURNS text LANGUAGE sql IMMUTABLE
  AS 'SELECT ''hello '' || who || punct'`)
	require.NoError(t, err)
	m, err := introspect.Load(t.Context(), s.pool, s.model.Tenancy)
	require.NoError(t, err)
	s.api.SetModel(m)

	r := a.get(t, "/rpc/count_pages").requireStatus(t, 200)
	assert.Equal(t, "2", string(r.Body), "a scalar is its JSON value")
	assert.Equal(t, "2", string(a.get(t, "/rpc/count_pages"+q("published", "false")).requireStatus(t, 200).Body))
	assert.Equal(t, "2", string(a.do(t, http.MethodPost, "/rpc/count_pages", `{"published":false}`).requireStatus(t, 200).Body))
	assert.JSONEq(t, `["about","blog","draft","home"]`, string(a.get(t, "/rpc/page_slugs").requireStatus(t, 200).Body))
	r = a.do(t, http.MethodPost, "/rpc/touch", `{"n":1}`).requireStatus(t, 204)
	assert.Empty(t, r.Body)
	a.get(t, "/rpc/touch"+q("n", "1")).requireStatus(t, 405)
	assert.JSONEq(t, `{"a":[1,2],"b":"x"}`, string(a.do(t, http.MethodPost, "/rpc/echo", `{"a":[1,2],"b":"x"}`,
		"Prefer: params=single-object").requireStatus(t, 200).Body))
	assert.JSONEq(t, `{"body":{"a":1}}`, string(a.do(t, http.MethodPost, "/rpc/echo", `{"body":{"body":{"a":1}}}`).
		requireStatus(t, 200).Body))
	assert.Equal(t, `"hello you!"`, string(a.get(t, "/rpc/greet"+q("who", "you")).requireStatus(t, 200).Body))
	assert.Equal(t, `"hello you?"`, string(a.do(t, http.MethodPost, "/rpc/greet", `{"who":"you","punct":"?"}`).
		requireStatus(t, 200).Body))
	assert.Equal(t, "PGT023", a.get(t, "/rpc/greet"+q("punct", "?")).requireStatus(t, 400).error(t).Code)
	assert.Equal(t, "22P02", a.get(t, "/rpc/count_pages"+q("published", "maybe")).requireStatus(t, 400).error(t).Code)
}
