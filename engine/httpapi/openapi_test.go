package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenAPI validates GET {base}/ with kin-openapi and checks that it
// describes exactly what the caller's role may do.
func TestOpenAPI(t *testing.T) {
	s := newServer(t)

	load := func(t *testing.T, c client) *openapi3.T {
		t.Helper()
		r := c.get(t, "/").requireStatus(t, http.StatusOK)
		assert.Equal(t, "application/openapi+json; charset=utf-8", r.Header.Get("Content-Type"))
		doc, err := openapi3.NewLoader().LoadFromData(r.Body)
		require.NoError(t, err)
		require.NoError(t, doc.Validate(t.Context()), "the document is valid OpenAPI 3")
		return doc
	}

	t.Run("app", func(t *testing.T) {
		doc := load(t, s.acmeApp())
		assert.Equal(t, "3.0.3", doc.OpenAPI)
		require.NotEmpty(t, doc.Servers)
		assert.Equal(t, basePath, doc.Servers[0].URL)
		for _, tb := range s.model.Tables {
			item := doc.Paths.Value("/" + tb.Name)
			require.NotNil(t, item, tb.Name)
			assert.NotNil(t, item.Get, tb.Name)
			if tb.Shared {
				assert.Nil(t, item.Post, "%s is read-only", tb.Name)
				assert.Nil(t, item.Patch, tb.Name)
				assert.Nil(t, item.Delete, tb.Name)
			} else {
				assert.NotNil(t, item.Post, tb.Name)
				assert.NotNil(t, item.Patch, tb.Name)
				assert.NotNil(t, item.Delete, tb.Name)
			}
			sch := doc.Components.Schemas[tb.Name]
			require.NotNil(t, sch, tb.Name)
			for _, c := range tb.Columns {
				assert.Contains(t, sch.Value.Properties, c.Name, "%s.%s", tb.Name, c.Name)
			}
		}
		assert.Equal(t, len(s.model.Tables)+len(s.model.Views)+len(s.model.Functions), doc.Paths.Len(),
			"one path per exposed table, view and function, nothing else")
		view := doc.Paths.Value("/published_pages")
		require.NotNil(t, view)
		assert.NotNil(t, view.Get)
		assert.Nil(t, view.Post, "a view is read-only")
		assert.Contains(t, doc.Components.Schemas["published_pages"].Value.Properties, "theme_name")
		search := doc.Paths.Value("/rpc/search_pages")
		require.NotNil(t, search)
		require.NotNil(t, search.Post)
		assert.Contains(t, search.Post.RequestBody.Value.Content["application/json"].Schema.Value.Properties, "q")
		require.NotNil(t, search.Get, "a STABLE function is served on GET")
		publish := doc.Paths.Value("/rpc/publish_page")
		require.NotNil(t, publish)
		assert.NotNil(t, publish.Post)
		assert.Nil(t, publish.Get, "a VOLATILE function is not served on GET")
		page := doc.Components.Schemas["webpages_webpage"].Value
		assert.True(t, page.Properties["tenant_id"].Value.ReadOnly)
		assert.ElementsMatch(t, []string{"namespace_id", "slug", "title"}, page.Required)
		assert.True(t, page.Properties["body"].Value.Nullable)
		assert.Equal(t, "uuid", page.Properties["id"].Value.Format)
		assert.NotContains(t, doc.Paths.Map(), "/tenants")
	})
	t.Run("relationships", func(t *testing.T) {
		doc := load(t, s.acmeApp())
		page := doc.Components.Schemas["webpages_webpage"].Value
		assert.Contains(t, page.Properties["theme_id"].Value.Description,
			"This is a Foreign Key to `webpages_pagetheme.id`.<fk table='webpages_pagetheme' column='id'/>")
		var rels []struct{ Embed, Table, Cardinality, Junction string }
		raw, err := json.Marshal(page.Extensions["x-relationships"])
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &rels))
		kinds := map[string]string{}
		for _, r := range rels {
			kinds[r.Table] = r.Cardinality
		}
		assert.Equal(t, "many-to-one", kinds["webpages_pagetheme"])
		assert.Equal(t, "many-to-many", kinds["content_tag"])
		assert.Equal(t, "one-to-many", kinds["webpages_webpage_tags"])
		// Every embed the document spells, on every table, is one the API serves.
		for name, sch := range doc.Components.Schemas {
			raw, err := json.Marshal(sch.Value.Extensions["x-relationships"])
			require.NoError(t, err)
			var rels []struct{ Embed string }
			require.NoError(t, json.Unmarshal(raw, &rels))
			for _, r := range rels {
				s.acmeApp().get(t, "/"+name+q("select", "*,"+r.Embed+"(*)")).requireStatus(t, http.StatusOK)
			}
		}
	})
	t.Run("reader has no writes", func(t *testing.T) {
		doc := load(t, s.reader())
		// The reader may read published_pages and call search_pages, not publish_page.
		assert.Equal(t, len(s.model.Tables)+2, doc.Paths.Len())
		assert.NotNil(t, doc.Paths.Value("/published_pages"))
		assert.NotNil(t, doc.Paths.Value("/rpc/search_pages"))
		assert.Nil(t, doc.Paths.Value("/rpc/publish_page"))
		for path, item := range doc.Paths.Map() {
			assert.NotNil(t, item.Get, path)
			if strings.HasPrefix(path, "/rpc/") {
				continue // POST calls a function
			}
			assert.Nil(t, item.Post, path)
			assert.Nil(t, item.Patch, path)
			assert.Nil(t, item.Delete, path)
			assert.Nil(t, item.Put, path)
		}
	})
	t.Run("head", func(t *testing.T) {
		r := s.acmeApp().do(t, http.MethodHead, "/", "")
		r.requireStatus(t, http.StatusOK)
		assert.Empty(t, r.Body)
	})
	t.Run("needs credentials and a tenant", func(t *testing.T) {
		assert.Equal(t, http.StatusUnauthorized, s.as("", "acme").get(t, "/").Status)
		assert.Equal(t, http.StatusForbidden, s.as(s.tokAcme, "").get(t, "/").Status)
		assert.Equal(t, http.StatusForbidden, s.as(s.tokAcme, "globex").get(t, "/").Status)
	})
	t.Run("other methods", func(t *testing.T) {
		r := s.acmeApp().do(t, http.MethodPost, "/", `{}`)
		r.requireStatus(t, http.StatusMethodNotAllowed)
		assert.Equal(t, "PGT405", r.error(t).Code)
	})
}
