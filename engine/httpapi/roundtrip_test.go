package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/ddl"
)

// TestRoundTrips counts what each request costs the database once the
// credential and tenant are cached and the statement is prepared on the
// pool's one connection: the pgx tracer's statements and batches, and the
// exchanges on the wire. A plain GET, HEAD, POST, PATCH or DELETE is one
// batch (tenant binding and statement) in one round trip.
func TestRoundTrips(t *testing.T) {
	e := newEnv(t)
	s := e.start(t, serverOpts{maxConns: 1})
	a := s.acmeApp()
	site := a.seed(t, "Acme")

	var report []string
	measure := func(t *testing.T, s *server, name string, fn func() response) (queries, trips int64) {
		t.Helper()
		q0, w0 := s.queries.Load(), s.roundTrips.Load()
		r := fn()
		require.Less(t, r.Status, 300, "%s: %s", name, r.Body)
		queries, trips = s.queries.Load()-q0, s.roundTrips.Load()-w0
		report = append(report, fmt.Sprintf("%-40s %d statements/batches, %d round trips", name, queries, trips))
		return queries, trips
	}

	t.Run("cold first request", func(t *testing.T) {
		cold := e.start(t, serverOpts{maxConns: 1})
		queries, trips := measure(t, cold, "GET, cold (new server)", func() response {
			return cold.acmeApp().get(t, "/webpages_webpage"+q("select", "slug"))
		})
		// The token lookup, the tenant directory, the statement.
		assert.Equal(t, int64(3), queries)
		assert.GreaterOrEqual(t, trips, queries)
	})

	n := 0
	page := func() string {
		n++
		return mustJSON(t, map[string]any{"namespace_id": site.namespace, "slug": fmt.Sprintf("rt-%d", n), "title": "RT"})
	}

	tests := []struct {
		name string
		req  func(t *testing.T) response
		want int64 // statements/batches and round trips; 0: only reported
	}{
		{"GET", func(t *testing.T) response { return a.get(t, "/webpages_webpage"+q("select", "slug", "order", "slug")) }, 1},
		{"GET count=exact", func(t *testing.T) response {
			return a.get(t, "/webpages_webpage"+q("select", "slug", "limit", "2"), "Prefer: count=exact")
		}, 1},
		{"GET singular", func(t *testing.T) response {
			return a.get(t, "/webpages_webpage"+q("slug", "eq.home"), acceptObject)
		}, 1},
		{"GET csv", func(t *testing.T) response {
			return a.get(t, "/webpages_webpage"+q("select", "slug"), "Accept: text/csv")
		}, 1},
		{"GET embedded (to-one, to-many, many-to-many, nested)", func(t *testing.T) response {
			return a.get(t, "/content_namespace"+q("select",
				"slug,webpages_webpage(slug,webpages_pagetheme(name),content_tag!inner(name)),content_category(name)",
				"webpages_webpage.order", "slug", "webpages_webpage.limit", "2"))
		}, 1},
		{"GET embedded, count=exact", func(t *testing.T) response {
			return a.get(t, "/webpages_webpage"+q("select", "slug,webpages_pagetheme(name),content_tag(name)"),
				"Prefer: count=exact")
		}, 1},
		{"HEAD", func(t *testing.T) response {
			return a.do(t, http.MethodHead, "/webpages_webpage", "", "Prefer: count=exact")
		}, 1},
		{"POST return=minimal", func(t *testing.T) response {
			return a.do(t, http.MethodPost, "/webpages_webpage", page())
		}, 1},
		{"POST return=representation", func(t *testing.T) response {
			return a.do(t, http.MethodPost, "/webpages_webpage", page(), preferRepr)
		}, 1},
		{"POST return=representation, embedded", func(t *testing.T) response {
			return a.do(t, http.MethodPost, "/webpages_webpage"+q("select", "*,webpages_pagetheme(*),content_namespace(slug)"),
				page(), preferRepr)
		}, 1},
		{"POST upsert merge-duplicates", func(t *testing.T) response {
			return a.do(t, http.MethodPost, "/webpages_webpage"+q("on_conflict", "namespace_id,slug"),
				`{"namespace_id":"`+site.namespace+`","slug":"home","title":"Upserted"}`, "Prefer: resolution=merge-duplicates")
		}, 1},
		{"PATCH return=minimal", func(t *testing.T) response {
			return a.do(t, http.MethodPatch, "/webpages_webpage"+q("id", "eq."+site.pages["home"]), `{"title":"P"}`)
		}, 1},
		{"PATCH return=representation", func(t *testing.T) response {
			return a.do(t, http.MethodPatch, "/webpages_webpage"+q("id", "eq."+site.pages["about"]), `{"title":"P"}`, preferRepr)
		}, 1},
		{"DELETE return=minimal", func(t *testing.T) response {
			return a.do(t, http.MethodDelete, "/webpages_webpage"+q("slug", "like.rt-*", "limit", "1", "order", "slug"), "")
		}, 1},
		{"DELETE return=representation", func(t *testing.T) response {
			return a.do(t, http.MethodDelete, "/webpages_webpage"+q("slug", "eq.nope"), "", preferRepr)
		}, 1},
		{"RPC POST (set of view rows)", func(t *testing.T) response {
			return a.do(t, http.MethodPost, "/rpc/search_pages", `{"q":"o"}`)
		}, 1},
		{"RPC GET with filters and count", func(t *testing.T) response {
			return a.get(t, "/rpc/search_pages"+q("q", "o", "select", "slug", "slug", "eq.home"), "Prefer: count=exact")
		}, 1},
		{"RPC POST volatile (audited)", func(t *testing.T) response {
			return a.do(t, http.MethodPost, "/rpc/publish_page", `{"page_id":"`+site.pages["draft"]+`"}`)
		}, 1},
		{"OpenAPI", func(t *testing.T) response { return a.get(t, "/") }, 0},
		{"POST tx=rollback", func(t *testing.T) response {
			return a.do(t, http.MethodPost, "/webpages_webpage", page(), "Prefer: tx=rollback")
		}, -1},
		{"PATCH singular (object Accept)", func(t *testing.T) response {
			return a.do(t, http.MethodPatch, "/webpages_webpage"+q("id", "eq."+site.pages["home"]), `{"title":"S"}`,
				acceptObject)
		}, -1},
		{"PATCH handling=strict, max-affected=1", func(t *testing.T) response {
			return a.do(t, http.MethodPatch, "/webpages_webpage"+q("id", "eq."+site.pages["home"]), `{"title":"M"}`,
				"Prefer: handling=strict, max-affected=1")
		}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req(t) // warm: the statement is prepared on the connection
			queries, trips := measure(t, s, tt.name, func() response { return tt.req(t) })
			switch {
			case tt.want > 0:
				assert.Equal(t, tt.want, queries, "statements/batches")
				assert.Equal(t, tt.want, trips, "round trips")
			case tt.want == 0:
				assert.Zero(t, queries)
				assert.Zero(t, trips)
			default:
				// An explicit transaction: BEGIN, the binding, the
				// statement, COMMIT or ROLLBACK.
				assert.Equal(t, int64(4), queries, "statements/batches")
				assert.Equal(t, int64(4), trips, "round trips")
			}
		})
	}
	t.Log("round trips per request, warm unless marked cold:\n" + strings.Join(report, "\n"))
}

// TestStatements checks DESIGN.md §9 invariant 4 from the outside: what a
// request sends is the tenant binding (set_config, transaction-local) and
// one statement that carries the tenant predicate itself, with request
// values only as $n arguments, never in the SQL text; a write adds its audit
// record (ddl.AuditInsert), whose arguments name the request, not its data.
func TestStatements(t *testing.T) {
	s := newEnv(t).start(t, serverOpts{captureSQL: true})
	a := s.acmeApp()
	site := a.seed(t, "Acme")
	a.get(t, "/content_language").requireStatus(t, http.StatusOK) // caches warm
	const secret = "zq-secret-value"

	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		headers []string
		tenant  bool // the statement names the tenant column itself
	}{
		{"get", "GET", "/webpages_webpage" + q("slug", "eq."+secret, "or", "(title.eq."+secret+",body.fts."+secret+")"), "", nil, true},
		{"get embedded", "GET", "/content_namespace" + q("select", secret+":webpages_webpage(slug,content_tag(name))",
			secret+".slug", "eq."+secret), "", nil, true},
		{"get with alias and json path", "GET", "/webpages_pagetheme" + q("select", secret+":settings->"+secret), "", nil, true},
		{"head with count", "HEAD", "/webpages_webpage" + q("title", "like.*"+secret+"*"), "", []string{"Prefer: count=exact"}, true},
		{"post", "POST", "/webpages_webpage",
			mustJSON(t, map[string]any{"namespace_id": site.namespace, "slug": secret, "title": secret}), nil, false},
		{"upsert", "POST", "/webpages_webpage" + q("on_conflict", "namespace_id,slug"),
			mustJSON(t, map[string]any{"namespace_id": site.namespace, "slug": secret, "title": secret}),
			[]string{"Prefer: resolution=merge-duplicates"}, true},
		{"patch", "PATCH", "/webpages_webpage" + q("slug", "eq."+secret), `{"title":"` + secret + `"}`, nil, true},
		{"delete", "DELETE", "/webpages_webpage" + q("slug", "in.("+secret+")"), "", nil, true},
		{"delete rolled back", "DELETE", "/webpages_webpage" + q("slug", "eq."+secret), "", []string{"Prefer: tx=rollback"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, n := s.statements.since(0)
			r := a.do(t, tt.method, tt.path, tt.body, tt.headers...)
			require.Less(t, r.Status, 300, "%s", r.Body)
			sent, _ := s.statements.since(n)
			var binds, stmts, audits []string
			for _, sql := range sent {
				switch {
				case sql == ddl.AuditInsert:
					audits = append(audits, sql)
				case strings.Contains(sql, "set_config("):
					binds = append(binds, sql)
				case sql == "begin" || sql == "commit" || sql == "rollback":
				default:
					stmts = append(stmts, sql)
				}
			}
			require.Len(t, binds, 1, "one tenant binding: %q", sent)
			assert.Contains(t, binds[0], "set_config($1, $2, true)", "transaction-local, bound values")
			require.Len(t, stmts, 1, "one statement: %q", sent)
			if tt.method != http.MethodGet && tt.method != http.MethodHead {
				assert.Len(t, audits, 1, "a write appends its audit record, in its own transaction: %q", sent)
			} else {
				assert.Empty(t, audits, "a read is not audited")
			}
			for _, sql := range sent {
				assert.NotContains(t, sql, secret, "a request value in the SQL text")
				assert.NotContains(t, sql, s.acme.ID, "the tenant id in the SQL text")
			}
			if tt.tenant {
				assert.Regexp(t, `\btenant_id"? = \$\d+`, stmts[0])
			}
		})
	}
}
