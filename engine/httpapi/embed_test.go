package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/ddl"
	"pgtenant/engine/query"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

// newShopEnv is newEnv for engine/query's second declaration for embedding (testdata/shop.hcl: another tenant
// column, a table named with a keyword, a junction, a shared table, two foreign keys between the same tables and
// a one-to-one), on a database migrated from it, with one currency.
func newShopEnv(t *testing.T) *env {
	t.Helper()
	declared, _, diags := schema.Load("../query/testdata/shop.hcl")
	require.False(t, diags.HasErrors(), "%s", diags)
	db := pgtest.NewEmpty(t)
	changes, err := ddl.Diff(nil, declared)
	require.NoError(t, err)
	up, _ := ddl.Render(changes, ddl.SingleNode).Files()
	pgtest.ExecScript(t, db.Owner, up)
	e := newEnvFor(t, db, declared)
	_, err = e.admin.Exec(t.Context(), `INSERT INTO currency (code, name) VALUES ('EUR', 'Euro')`)
	require.NoError(t, err)
	return e
}

// shopTables are the tenant tables of shop.hcl in foreign key order.
var shopTables = []tableSpec{
	{name: "customer", pk: []string{"id"}, row: func(_ *testing.T, _ client, _ rowSet, n int) map[string]any {
		return map[string]any{"name": fmt.Sprintf("c%d", n)}
	}},
	{name: "product", pk: []string{"id"}, row: func(_ *testing.T, _ client, _ rowSet, n int) map[string]any {
		return map[string]any{"name": fmt.Sprintf("p%d", n), "currency_code": "EUR"}
	}},
	{name: "order", pk: []string{"id"}, row: func(_ *testing.T, _ client, d rowSet, _ int) map[string]any {
		return map[string]any{"customer_id": d.id("customer")}
	}},
	{name: "order_item", pk: []string{"order_id", "product_id"}, row: func(_ *testing.T, _ client, d rowSet, _ int) map[string]any {
		return map[string]any{"order_id": d.id("order"), "product_id": d.id("product"), "quantity": 2}
	}},
	{name: "invoice", pk: []string{"id"}, row: func(_ *testing.T, _ client, d rowSet, _ int) map[string]any {
		return map[string]any{"billed_to_id": d.id("customer"), "shipped_to_id": d.id("customer")}
	}},
	{name: "customer_profile", pk: []string{"id"}, row: func(_ *testing.T, _ client, d rowSet, _ int) map[string]any {
		return map[string]any{"customer_id": d.id("customer"), "bio": "b"}
	}},
}

// TestIsolation_EmbedsShop is TestIsolation_Embeds for shop.hcl, served over a database migrated from it: every
// relationship (many-to-one, one-to-many, one-to-one, many-to-many, to and from the shared table, the two
// foreign keys between invoice and customer), with references planted from acme's rows to globex's.
func TestIsolation_EmbedsShop(t *testing.T) {
	s := newShopEnv(t).start(t, serverOpts{})
	a, g := s.acmeApp(), s.globexApp()
	for _, spec := range shopTables {
		require.NotNil(t, s.model.Table(spec.name), spec.name)
	}
	acmeRows, globexRows := seedTables(t, a, shopTables), seedTables(t, g, shopTables)
	acmeID, globexID := s.acme.ID, s.globex.ID
	s.plant(t,
		// An acme order of globex's customer, an acme order item of globex's product, an acme invoice billed to
		// globex's customer and an acme profile of globex's customer.
		fmt.Sprintf(`INSERT INTO "order" (org_id, id, customer_id) VALUES ('%s', '%s', '%s')`, acmeID, randomUUID(),
			globexRows.id("customer")),
		fmt.Sprintf(`INSERT INTO order_item (org_id, order_id, product_id) VALUES ('%s', '%s', '%s')`, acmeID,
			acmeRows.id("order"), globexRows.id("product")),
		fmt.Sprintf(`INSERT INTO invoice (org_id, id, billed_to_id, shipped_to_id) VALUES ('%s', '%s', '%s', '%s')`, acmeID,
			randomUUID(), globexRows.id("customer"), acmeRows.id("customer")),
		fmt.Sprintf(`INSERT INTO customer_profile (org_id, id, customer_id, bio) VALUES ('%s', '%s', '%s', 'planted')`, acmeID,
			randomUUID(), globexRows.id("customer")),
	)
	foreign := newForeignValues(globexRows, globexRows.id("customer"), globexRows.id("product"))
	kinds := map[query.Cardinality]bool{}
	for _, r := range query.ModelRelationships(s.model) {
		kinds[r.Kind] = true
	}
	assert.Len(t, kinds, 4, "every kind of relationship: %v", kinds)
	n := embedSweep(t, a, s.model, acmeID, globexID, foreign)
	assert.Greater(t, n, 10)

	t.Run("ambiguous is 300 PGRST201 with the candidates", func(t *testing.T) {
		r := a.get(t, "/invoice"+q("select", "*,customer(*)")).requireStatus(t, http.StatusMultipleChoices)
		e := r.error(t)
		assert.Equal(t, "PGRST201", e.Code)
		var details []map[string]string
		require.NoError(t, json.Unmarshal(e.RawDetails, &details), "%s", r.Body)
		require.Len(t, details, 2)
		assert.Equal(t, "many-to-one", details[0]["cardinality"])
		require.NotNil(t, e.Hint)
		assert.Contains(t, *e.Hint, "customer!")
	})
	t.Run("the planted references embed nothing", func(t *testing.T) {
		r := a.get(t, "/order"+q("select", "id,customer(*)", "customer_id", "eq."+globexRows.id("customer").(string)))
		var rows []map[string]any
		require.NoError(t, json.Unmarshal(r.requireStatus(t, http.StatusOK).Body, &rows))
		require.Len(t, rows, 1)
		assert.Nil(t, rows[0]["customer"])
		r = a.get(t, "/order"+q("select", "id,product(*)", "id", "eq."+acmeRows.id("order").(string)), acceptObject)
		var order struct{ Product []map[string]any }
		require.NoError(t, json.Unmarshal(r.requireStatus(t, http.StatusOK).Body, &order))
		require.Len(t, order.Product, 1, "only acme's product through the junction: %s", r.Body)
		assert.Equal(t, acmeRows.id("product"), order.Product[0]["id"])
	})
	t.Run("globex's own embeds", func(t *testing.T) {
		r := g.get(t, "/customer"+q("select", "id,customer_profile(bio),order(id)")).requireStatus(t, http.StatusOK)
		assert.JSONEq(t, fmt.Sprintf(`[{"id":%q,"customer_profile":{"bio":"b"},"order":[{"id":%q}]}]`,
			globexRows.id("customer"), globexRows.id("order")), string(r.Body))
	})
}

// TestEmbed checks embedding through the HTTP layer: reads, count=exact counting parents, the singular object
// and CSV, and writes with return=representation answering the written rows with their embeds.
func TestEmbed(t *testing.T) {
	s := newServer(t)
	a := s.acmeApp()
	site := a.seed(t, "Acme")
	a.do(t, http.MethodPatch, "/webpages_webpage"+q("slug", "eq.home"), `{"theme_id":"`+site.theme+`"}`).
		requireStatus(t, http.StatusNoContent)
	tag := a.insertOne(t, "content_tag", map[string]any{"namespace_id": site.namespace, "slug": "news", "name": "News"})
	a.insertOne(t, "webpages_webpage_tags", map[string]any{"webpage_id": site.pages["home"], "tag_id": tag["id"]})
	const sel = "slug,webpages_pagetheme(name),content_tag(name)"

	t.Run("read", func(t *testing.T) {
		r := a.get(t, "/webpages_webpage"+q("select", sel, "order", "slug", "limit", "2")).requireStatus(t, http.StatusOK)
		assert.JSONEq(t, `[{"slug":"about","webpages_pagetheme":null,"content_tag":[]},
			{"slug":"blog","webpages_pagetheme":null,"content_tag":[]}]`, string(r.Body))
		r = a.get(t, "/webpages_webpage"+q("select", sel, "content_tag.name", "eq.News", "order", "slug.desc",
			"webpages_pagetheme.order", "name")).requireStatus(t, http.StatusOK)
		assert.Contains(t, string(r.Body), `{"slug":"home","webpages_pagetheme":{"name":"dark"},"content_tag":[{"name":"News"}]}`)
		r = a.get(t, "/webpages_webpage"+q("select", "slug,content_tag!inner(name)")).requireStatus(t, http.StatusOK)
		assert.JSONEq(t, `[{"slug":"home","content_tag":[{"name":"News"}]}]`, string(r.Body))
		// README's nested example, with aliases.
		r = a.get(t, "/content_namespace"+q("select", "slug,pages:webpages_webpage(slug,theme:webpages_pagetheme(name))",
			"pages.slug", "eq.home")).requireStatus(t, http.StatusOK)
		assert.Equal(t, `[{"slug" : "www", "pages" : [{"slug" : "home", "theme" : {"name":"dark"}}]}]`, string(r.Body),
			"aliases build the object key by key (json_build_object's spacing)")
	})
	t.Run("count=exact counts parents", func(t *testing.T) {
		r := a.get(t, "/webpages_webpage"+q("select", sel, "limit", "2"), "Prefer: count=exact")
		r.requireStatus(t, http.StatusPartialContent)
		assert.Equal(t, "0-1/4", r.Header.Get("Content-Range"))
		r = a.get(t, "/webpages_webpage"+q("select", "slug,content_tag!inner(name)"), "Prefer: count=exact")
		assert.Equal(t, "0-0/1", r.requireStatus(t, http.StatusOK).Header.Get("Content-Range"))
	})
	t.Run("singular", func(t *testing.T) {
		r := a.get(t, "/webpages_webpage"+q("select", sel, "slug", "eq.home"), acceptObject).requireStatus(t, http.StatusOK)
		assert.JSONEq(t, `{"slug":"home","webpages_pagetheme":{"name":"dark"},"content_tag":[{"name":"News"}]}`, string(r.Body))
		a.get(t, "/webpages_webpage"+q("select", sel), acceptObject).requireStatus(t, http.StatusNotAcceptable)
	})
	t.Run("csv", func(t *testing.T) {
		r := a.get(t, "/webpages_webpage"+q("select", sel, "slug", "eq.home"), "Accept: text/csv").requireStatus(t, http.StatusOK)
		assert.Equal(t, "text/csv; charset=utf-8", r.Header.Get("Content-Type"))
		assert.Equal(t, "slug,webpages_pagetheme,content_tag\nhome,\"{\"\"name\"\":\"\"dark\"\"}\",\"[{\"\"name\"\":\"\"News\"\"}]\"",
			string(r.Body))
	})
	t.Run("POST return=representation", func(t *testing.T) {
		body := mustJSON(t, map[string]any{"namespace_id": site.namespace, "slug": "new", "title": "New", "theme_id": site.theme})
		r := a.do(t, http.MethodPost, "/webpages_webpage"+q("select", "slug,webpages_pagetheme(*),content_namespace(slug)"),
			body, preferRepr).requireStatus(t, http.StatusCreated)
		rows := r.rows(t)
		require.Len(t, rows, 1)
		assert.Equal(t, "dark", rows[0]["webpages_pagetheme"].(map[string]any)["name"])
		assert.Equal(t, s.acme.ID, rows[0]["webpages_pagetheme"].(map[string]any)["tenant_id"])
		assert.Equal(t, map[string]any{"slug": "www"}, rows[0]["content_namespace"])
		// Without return=representation the select is not answered.
		body = mustJSON(t, map[string]any{"namespace_id": site.namespace, "slug": "new2", "title": "New"})
		r = a.do(t, http.MethodPost, "/webpages_webpage"+q("select", "slug,webpages_pagetheme(*)"), body)
		assert.Empty(t, r.requireStatus(t, http.StatusCreated).Body)
	})
	t.Run("PATCH return=representation", func(t *testing.T) {
		r := a.do(t, http.MethodPatch, "/webpages_webpage"+q("select", sel, "slug", "eq.home"), `{"title":"Home!"}`,
			preferRepr).requireStatus(t, http.StatusOK)
		assert.JSONEq(t, `[{"slug":"home","webpages_pagetheme":{"name":"dark"},"content_tag":[{"name":"News"}]}]`, string(r.Body))
		r = a.do(t, http.MethodPatch, "/webpages_webpage"+q("select", sel, "slug", "eq.home"), `{"title":"Home"}`,
			preferRepr, acceptObject).requireStatus(t, http.StatusOK)
		assert.JSONEq(t, `{"slug":"home","webpages_pagetheme":{"name":"dark"},"content_tag":[{"name":"News"}]}`, string(r.Body))
	})
	t.Run("DELETE return=representation", func(t *testing.T) {
		r := a.do(t, http.MethodDelete, "/webpages_webpage"+q("select", "slug,webpages_pagetheme(name),content_namespace(slug)",
			"slug", "eq.new"), "", preferRepr).requireStatus(t, http.StatusOK)
		assert.JSONEq(t, `[{"slug":"new","webpages_pagetheme":{"name":"dark"},"content_namespace":{"slug":"www"}}]`, string(r.Body))
	})
	t.Run("a shared table embeds the request's tenant's rows", func(t *testing.T) {
		_, err := s.admin.Exec(t.Context(), `INSERT INTO content_language (code, name) VALUES ('zz', 'Test')`)
		require.NoError(t, err)
		a.do(t, http.MethodPatch, "/content_namespace"+q("id", "eq."+site.namespace), `{"language_code":"zz"}`).
			requireStatus(t, http.StatusNoContent)
		r := a.get(t, "/content_language"+q("select", "code,content_namespace(slug)", "code", "eq.zz")).
			requireStatus(t, http.StatusOK)
		assert.JSONEq(t, `[{"code":"zz","content_namespace":[{"slug":"www"}]}]`, string(r.Body))
		r = s.globexApp().get(t, "/content_language"+q("select", "code,content_namespace(slug)", "code", "eq.zz"))
		assert.JSONEq(t, `[{"code":"zz","content_namespace":[]}]`, string(r.requireStatus(t, http.StatusOK).Body))
	})
}
