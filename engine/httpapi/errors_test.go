package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The codes of a bad body and of an invalid preference under
// handling=strict, as PostgREST's (see TestRequestErrors_BodyCodes).
const (
	badBody   = "PGRST102"
	badPrefer = "PGRST122"
)

// TestRequestErrors checks that every mistake a request can make is a 4xx
// JSON error with the documented status and code, that nothing is written,
// and that the refusal comes before any statement runs where the schema can
// tell.
func TestRequestErrors(t *testing.T) {
	s := newServer(t)
	a := s.acmeApp()
	acme := a.seed(t, "Acme")
	page := mustJSON(t, map[string]any{"namespace_id": acme.namespace, "slug": "new", "title": "New"})
	bigBody := `{"namespace_id":"` + acme.namespace + `","slug":"big","title":"` + strings.Repeat("x", maxBodyBytes) + `"}`
	deep := "slug.eq.a"
	for range 9 {
		deep = "or(" + deep + ",slug.eq.b)"
	}

	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		headers []string
		status  int
		code    string
		hint    string // a substring of the hint, when checked
		noQuery bool   // refused before any statement runs
	}{
		{"unknown table", "GET", "/nope", "", nil, 404, "PGRST205", "", true},
		{"unknown table with a suggestion", "GET", "/webpages_webpag", "", nil, 404, "PGRST205",
			"Perhaps you meant the table 'public.webpages_webpage'", true},
		{"unknown table on post", "POST", "/nope", page, nil, 404, "PGRST205", "", true},
		{"the registry is not exposed", "GET", "/tenants", "", nil, 404, "PGRST205", "", true},
		{"a path outside the base", "GET", "/../../elsewhere", "", nil, 404, "PGRST125", "", true},
		{"rpc", "POST", "/rpc/fn", `{}`, nil, 404, "PGRST202", "", true},
		{"method not allowed", "PUT", "/webpages_webpage", page, nil, 405, "PGT405", "", true},
		{"unknown column in select", "GET", "/webpages_webpage" + q("select", "slug,nope"), "", nil, 400, "42703", "", true},
		{"unknown column in a filter", "GET", "/webpages_webpage" + q("nope", "eq.1"), "", nil, 400, "42703", "", true},
		{"unknown column in a logic tree", "GET", "/webpages_webpage" + q("or", "(slug.eq.a,nope.eq.b)"), "", nil, 400,
			"42703", "", true},
		{"unknown column in order", "GET", "/webpages_webpage" + q("order", "nope.desc"), "", nil, 400, "42703", "", true},
		{"unknown column in on_conflict", "POST", "/webpages_webpage" + q("on_conflict", "nope"), page,
			[]string{"Prefer: resolution=merge-duplicates"}, 400, "42703", "", true},
		{"unknown column in the body", "POST", "/webpages_webpage",
			`{"namespace_id":"` + acme.namespace + `","slug":"x","title":"x","nope":1}`, nil, 400, "PGRST204", "", true},
		{"unknown column in columns", "POST", "/webpages_webpage" + q("columns", "slug,nope"), page, nil, 400, "PGRST204",
			"", true},
		{"unknown column in a patch body", "PATCH", "/webpages_webpage" + q("slug", "eq.home"), `{"nope":1}`, nil, 400,
			"PGRST204", "", true},
		{"filter without operator", "GET", "/webpages_webpage" + q("slug", "home"), "", nil, 400, "PGRST100", "", true},
		{"unknown operator", "GET", "/webpages_webpage" + q("slug", "foo.home"), "", nil, 400, "PGRST100", "", true},
		{"bad is value", "GET", "/webpages_webpage" + q("body", "is.maybe"), "", nil, 400, "PGRST100", "", true},
		{"unclosed in list", "GET", "/webpages_webpage" + q("slug", "in.(a,b"), "", nil, 400, "PGRST100", "", true},
		{"unclosed logic tree", "GET", "/webpages_webpage" + q("or", "(slug.eq.a,slug.eq.b"), "", nil, 400, "PGRST100",
			"", true},
		{"logic tree without parentheses", "GET", "/webpages_webpage" + q("and", "slug.eq.a"), "", nil, 400, "PGRST100",
			"", true},
		{"quantifier on a non-quantifiable operator", "GET", "/webpages_webpage" + q("slug", "in(any).{a}"), "", nil, 400,
			"PGRST100", "", true},
		{"bad order direction", "GET", "/webpages_webpage" + q("order", "slug.sideways"), "", nil, 400, "PGRST100", "", true},
		{"cast not allowed", "GET", "/webpages_webpage" + q("select", "slug::regclass"), "", nil, 400, "PGRST100", "", true},
		{"json path on a text column", "GET", "/webpages_webpage" + q("select", "title->>x"), "", nil, 400, "PGRST100", "",
			true},
		{"embedding no relationship", "GET", "/webpages_webpage" + q("select", "*,nope(name)"), "", nil, 400, "PGRST200",
			"", true},
		{"embedding a misspelt table", "GET", "/webpages_webpage" + q("select", "*,webpages_pagethem(name)"), "", nil, 400,
			"PGRST200", "Perhaps you meant 'webpages_pagetheme'", true},
		{"embedding deeper than the limit", "GET", "/content_namespace" + q("select",
			"*,webpages_webpage(content_tag(webpages_webpage(content_tag(webpages_webpage(content_tag(*))))))"), "", nil,
			400, "PGRST100", "", true},
		{"filter on an embed not selected", "GET", "/webpages_webpage" + q("webpages_pagetheme.name", "eq.dark"), "", nil,
			400, "PGRST108", "webpages_pagetheme", true},
		{"embed with an unbalanced parenthesis", "GET", "/webpages_webpage" + q("select", "*,webpages_pagetheme(name"), "",
			nil, 400, "PGRST100", "", true},
		{"order by a to-many embed", "GET", "/webpages_webpage" + q("select", "*,content_tag(name)", "order",
			"content_tag(name).desc"), "", nil, 400, "PGRST118", "", true},
		{"spread of a to-many embed", "GET", "/webpages_webpage" + q("select", "*,...content_tag(name)"), "", nil, 400,
			"PGRST119", "", true},
		{"embedding on a write", "POST", "/webpages_webpage" + q("select", "*,nope(name)"), page,
			[]string{"Prefer: return=representation"}, 400, "PGRST200", "", true},
		{"limit not a number", "GET", "/webpages_webpage" + q("limit", "ten"), "", nil, 400, "PGRST100", "", true},
		{"or nested too deep", "GET", "/webpages_webpage" + q("or", "("+deep+")"), "", nil, 400, "PGRST100", "", true},
		{"too many in values", "GET", "/webpages_webpage" + q("slug", "in.("+strings.Repeat("a,", 1000)+"a)"), "", nil,
			400, "PGRST100", "", true},
		{"bad query encoding", "GET", "/webpages_webpage?slug=eq.%zz", "", nil, 400, "PGRST100", "", true},
		{"accept-profile of another schema", "GET", "/webpages_webpage", "", []string{"Accept-Profile: private"}, 406,
			"PGRST106", "", true},
		{"content-profile of another schema", "POST", "/webpages_webpage", page, []string{"Content-Profile: pgtenant"},
			406, "PGRST106", "", true},
		{"unsupported accept", "GET", "/webpages_webpage", "", []string{"Accept: application/xml"}, 406, "PGRST107", "",
			true},
		{"body too large", "POST", "/webpages_webpage", bigBody, nil, 413, "PGT030", "", true},
		{"patch body too large", "PATCH", "/webpages_webpage" + q("slug", "eq.home"), bigBody, nil, 413, "PGT030", "", true},
		{"url too long", "GET", "/webpages_webpage" + q("slug", "in.("+strings.Repeat("a", maxURLBytes)+")"), "", nil,
			414, "PGT031", "", true},
		{"bad json", "POST", "/webpages_webpage", `{"slug":`, nil, 400, badBody, "", true},
		{"json that is not an object", "POST", "/webpages_webpage", `"page"`, nil, 400, badBody, "", true},
		{"array elements that are not objects", "POST", "/webpages_webpage", `[1,2]`, nil, 400, badBody, "", true},
		{"keys that do not match", "POST", "/webpages_webpage",
			`[{"slug":"a","title":"a"},{"slug":"b"}]`, nil, 400, badBody, "", true},
		{"empty body", "POST", "/webpages_webpage", "", []string{"Content-Type: application/json"}, 400, badBody, "",
			true},
		{"array body on patch", "PATCH", "/webpages_webpage" + q("slug", "eq.home"), `[{"title":"x"}]`, nil, 400,
			badBody, "", true},
		{"wrong content type", "POST", "/webpages_webpage", page, []string{"Content-Type: text/plain"}, 415, "PGRST107",
			"", true},
		{"form content type", "POST", "/webpages_webpage", "slug=x", []string{"Content-Type: application/x-www-form-urlencoded"},
			415, "PGRST107", "", true},
		{"unreadable content type", "PATCH", "/webpages_webpage" + q("slug", "eq.home"), `{"title":"x"}`,
			[]string{"Content-Type: ;;"}, 415, "PGRST107", "", true},
		{"invalid preference under strict handling", "GET", "/webpages_webpage", "",
			[]string{"Prefer: handling=strict, colour=blue"}, 400, badPrefer, "", true},
		{"unreadable range", "GET", "/webpages_webpage", "", []string{"Range: rows 1 to 2"}, 416, "PGRST103", "", true},
		{"negative offset", "GET", "/webpages_webpage" + q("offset", "-1"), "", nil, 416, "PGRST103", "", true},
		{"write to a shared table", "POST", "/content_language", `{"code":"xx","name":"X"}`, nil, 403, "PGT022", "",
			true},
		{"delete on a shared table", "DELETE", "/content_language" + q("code", "eq.xx"), "", nil, 403, "PGT022", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Warm the credential and tenant caches, so that any statement
			// counted below is the request's own.
			a.get(t, "/content_language").requireStatus(t, http.StatusOK)
			before := s.snapshot(t, "webpages_webpage")
			queries := s.queries.Load()
			r := a.do(t, tt.method, tt.path, tt.body, tt.headers...)
			require.Equal(t, tt.status, r.Status, "body %s", r.Body)
			e := r.error(t)
			assert.Equal(t, tt.code, e.Code, "message %q", e.Message)
			assert.NotEmpty(t, e.Message)
			if tt.hint != "" {
				require.NotNil(t, e.Hint)
				assert.Contains(t, *e.Hint, tt.hint)
			}
			if tt.noQuery {
				assert.Equal(t, queries, s.queries.Load(), "refused before any statement")
			}
			assert.Equal(t, before, s.snapshot(t, "webpages_webpage"), "nothing written")
			assert.NotEmpty(t, r.Header.Get("X-Request-ID"))
		})
	}

	t.Run("no credential beats an unknown table", func(t *testing.T) {
		r := s.as("", "acme").get(t, "/nope")
		r.requireStatus(t, http.StatusUnauthorized)
	})
	t.Run("a 404 always has a JSON body", func(t *testing.T) {
		for _, path := range []string{"/nope", "/rpc/x", "/a/b/c"} {
			r := a.get(t, path)
			assert.Equal(t, http.StatusNotFound, r.Status, path)
			assert.NotEmpty(t, r.error(t).Code, path)
		}
		resp, err := http.Get(s.ts.URL + "/not-the-api")
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	})
	t.Run("a request id is taken from the request when sane", func(t *testing.T) {
		r := a.get(t, "/nope", "X-Request-ID: req-123")
		assert.Equal(t, "req-123", r.Header.Get("X-Request-ID"))
		assert.NotContains(t, string(r.Body), "req-123", "never in a body")
		r = a.get(t, "/nope", "X-Request-ID: bad id with spaces")
		assert.NotEqual(t, "bad id with spaces", r.Header.Get("X-Request-ID"))
		assert.NotEmpty(t, r.Header.Get("X-Request-ID"))
	})
}

// TestRequestErrors_BodyCodes wants PostgREST's codes for a bad JSON body
// (PGRST102) and an invalid preference under handling=strict (PGRST122), as
// query.ParseError documents, and PGRST100 for a bad filter on the column
// named body (webpages_webpage has one): the two must not be confused.
func TestRequestErrors_BodyCodes(t *testing.T) {
	s := newServer(t)
	a := s.acmeApp()
	for _, tt := range []struct {
		name, method, path, body, prefer, code string
	}{
		{"bad json", "POST", "/webpages_webpage", `{"slug":`, "", "PGRST102"},
		{"keys that do not match", "POST", "/webpages_webpage", `[{"slug":"a"},{"title":"b"}]`, "", "PGRST102"},
		{"invalid preference under strict handling", "GET", "/webpages_webpage", "", "handling=strict, x=y", "PGRST122"},
		{"bad filter on the column named body", "GET", "/webpages_webpage" + q("body", "is.maybe"), "", "", "PGRST100"},
		{"bad filter on the column named body, on a patch", "PATCH", "/webpages_webpage" + q("body", "is.maybe"),
			`{"title":"x"}`, "", "PGRST100"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.prefer != "" {
				headers = append(headers, "Prefer: "+tt.prefer)
			}
			r := a.do(t, tt.method, tt.path, tt.body, headers...)
			r.requireStatus(t, http.StatusBadRequest)
			assert.Equal(t, tt.code, r.error(t).Code)
		})
	}
}

// TestUnavailable: when the pool is closed (a server shutting down) a
// request is answered 503 with Retry-After, which clients retry, and the
// generic message; never a 500.
func TestUnavailable(t *testing.T) {
	s := newServer(t)
	a := s.acmeApp()
	a.get(t, "/content_language").requireStatus(t, http.StatusOK) // credential and tenant cached
	s.pool.Close()
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		r := a.do(t, method, "/content_namespace", `{"slug":"x","name":"x"}`)
		require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s: %s", method, r.Body)
		assert.Equal(t, "PGT503", r.error(t).Code)
		assert.Equal(t, "5", r.Header.Get("Retry-After"))
	}
}
