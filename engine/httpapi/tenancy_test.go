package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTenancy_Credentials: credentials are checked first, whatever the
// tenant header says (DESIGN.md §7 "Settled details").
func TestTenancy_Credentials(t *testing.T) {
	s := newServer(t)
	s.acmeApp().seed(t, "Acme")
	unused := s.tokGlobex // never used before it is revoked, so not cached
	_, err := s.db.Owner.Exec(t.Context(), "UPDATE pgtenant.tokens SET revoked_at = now() WHERE name = 'globex'")
	require.NoError(t, err)

	tenants := [][]string{
		{tenantHeader + ": acme"}, {tenantHeader + ": globex"}, {tenantHeader + ": initech"}, {tenantHeader + ": sleepy"},
		{tenantHeader + ": " + s.acme.ID},
	}
	// Missing or malformed tenant headers come first: TestTenancy_CheckOrder.
	tests := []struct {
		name   string
		auth   []string // Authorization header values
		status int
		code   string
	}{
		{"no credential", nil, 401, "PGT001"},
		{"empty credential", []string{""}, 401, "PGT001"},
		{"unknown token", []string{"Token pgt_" + strings.Repeat("x", 43)}, 401, "PGT002"},
		{"revoked token", []string{"Token " + unused}, 401, "PGT002"},
		{"malformed token", []string{"Token a b c"}, 401, "PGT002"},
		{"short token", []string{"Token abc"}, 401, "PGT002"},
		{"bearer scheme", []string{"Bearer " + s.tokAcme}, 401, "PGT002"},
		{"basic scheme", []string{"Basic YWNtZTphY21l"}, 401, "PGT002"},
		{"no scheme", []string{s.tokAcme}, 401, "PGT002"},
		{"two authorization headers", []string{"Token " + s.tokAcme, "Token " + s.tokAcme}, 400, "PGT003"},
		{"two different authorization headers", []string{"Token " + s.tokAcme, "Token " + s.tokGlobex}, 400, "PGT003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var first []byte
			for _, tenant := range tenants {
				for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
					headers := append([]string{}, tenant...)
					for _, v := range tt.auth {
						headers = append(headers, "Authorization: "+v)
					}
					body := ""
					if method == http.MethodPost {
						body = `{"title":"x"}`
					}
					r := s.as("", "").do(t, method, "/webpages_webpage"+q("slug", "eq.home"), body, headers...)
					require.Equal(t, tt.status, r.Status, "%s with %q: %s", method, tenant, r.Body)
					assert.Equal(t, tt.code, r.error(t).Code)
					if first == nil {
						first = r.Body
					}
					assert.Equal(t, string(first), string(r.Body), "the same body whatever the tenant header says")
				}
				r := s.as("", "").do(t, http.MethodGet, "/", "", append(append([]string{}, tenant...),
					prefixAll("Authorization: ", tt.auth)...)...)
				assert.Equal(t, tt.status, r.Status, "openapi")
				assert.Equal(t, string(first), string(r.Body), "openapi")
				r = s.as("", "").do(t, http.MethodHead, "/webpages_webpage", "", append(append([]string{}, tenant...),
					prefixAll("Authorization: ", tt.auth)...)...)
				assert.Equal(t, tt.status, r.Status, "head")
				assert.Empty(t, r.Body, "head")
			}
		})
	}
	t.Run("scheme is case-insensitive", func(t *testing.T) {
		r := s.as("", "acme").get(t, "/webpages_webpage", "Authorization: token "+s.tokAcme)
		r.requireStatus(t, http.StatusOK)
	})
}

// badTenantHeaders are tenant headers that are missing, malformed or
// duplicated: refused (403/400) for a valid credential, but never before the
// credential itself is refused.
var badTenantHeaders = [][]string{
	{tenantHeader + ": ACME Corp"}, {tenantHeader + ": "}, nil, {tenantHeader + ": acme", tenantHeader + ": globex"},
}

// TestTenancy_CheckOrder pins the order README "HTTP API" documents: (1)
// the tenant header's presence and shape, from the request alone (403
// PGT010 missing, 400 malformed or duplicate), whatever the credential; (2)
// the credential (401, 400 for two); (3) the tenant's existence and access,
// only for a valid credential. DESIGN.md §7 puts credentials first; issue 3
// asks a bare request without the tenant header for 403, which decides
// step 1. A request without valid credentials still learns nothing about
// which tenants exist.
func TestTenancy_CheckOrder(t *testing.T) {
	s := newServer(t)
	auths := []struct {
		value  []string
		status int
	}{
		{nil, 401}, {[]string{"Token pgt_" + strings.Repeat("x", 43)}, 401}, {[]string{"Bearer x"}, 401},
		{[]string{"Token " + s.tokAcme, "Token " + s.tokAcme}, 400},
	}
	for _, tenant := range badTenantHeaders {
		want := http.StatusBadRequest
		if len(tenant) == 0 || tenant[0] == tenantHeader+": " {
			want = http.StatusForbidden
		}
		for _, auth := range auths {
			r := s.as("", "").get(t, "/webpages_webpage", append(append([]string{}, tenant...),
				prefixAll("Authorization: ", auth.value)...)...)
			assert.Equal(t, want, r.Status, "tenant %q auth %q: %s", tenant, auth.value, r.Body)
		}
	}
	for _, tenant := range []string{"acme", "no_such_tenant"} {
		for _, auth := range auths {
			r := s.as("", "").get(t, "/webpages_webpage", append([]string{tenantHeader + ": " + tenant},
				prefixAll("Authorization: ", auth.value)...)...)
			assert.Equal(t, auth.status, r.Status, "tenant %q auth %q: %s", tenant, auth.value, r.Body)
		}
	}
}

func prefixAll(prefix string, vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = prefix + v
	}
	return out
}

// TestTenancy_TenantHeader covers the tenant header once the credential is
// good: missing, duplicate, malformed, and the refusals that must not tell
// an unknown tenant from an inactive one or one the token may not use.
func TestTenancy_TenantHeader(t *testing.T) {
	s := newServer(t)
	s.acmeApp().seed(t, "Acme")
	s.globexApp().seed(t, "Globex")
	// Warm the caches: every token used below, and the tenant directory.
	for _, tok := range []string{s.tokAcme, s.tokSleepy, s.tokBoth} {
		s.as(tok, "acme").get(t, "/content_language")
	}

	t.Run("missing tenant header: 403 before any database work", func(t *testing.T) {
		for _, headers := range [][]string{nil, {tenantHeader + ": "}, {tenantHeader + ":    "}} {
			for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
				before := s.queries.Load()
				r := s.as(s.tokAcme, "").do(t, method, "/webpages_webpage"+q("slug", "eq.home"), `{"title":"x"}`, headers...)
				r.requireStatus(t, http.StatusForbidden)
				e := r.error(t)
				assert.Equal(t, "PGT010", e.Code)
				require.NotNil(t, e.Hint)
				assert.Contains(t, *e.Hint, tenantHeader)
				assert.Equal(t, before, s.queries.Load(), "no statement ran")
			}
		}
		before := s.queries.Load()
		r := s.as(s.tokAcme, "").get(t, "/")
		r.requireStatus(t, http.StatusForbidden)
		assert.Equal(t, before, s.queries.Load(), "no statement ran")
	})
	t.Run("missing tenant header on a cold server", func(t *testing.T) {
		cold := s.env.start(t, serverOpts{})
		base := cold.queries.Load() // introspection
		r := cold.as(s.tokAcme, "").get(t, "/webpages_webpage")
		r.requireStatus(t, http.StatusForbidden)
		// Credentials come first, so the token may be looked up; the tenant
		// directory is not read and no statement runs.
		assert.LessOrEqual(t, cold.queries.Load()-base, int64(1), "at most the token lookup")
	})

	refusals := []struct {
		name   string
		token  string
		tenant string
	}{
		{"unknown identifier", s.tokAcme, "initech"},
		{"unknown uuid", s.tokAcme, "00000000-0000-4000-8000-000000000000"},
		{"inactive tenant", s.tokSleepy, "sleepy"},
		{"inactive tenant by uuid", s.tokSleepy, strings.ToUpper(s.sleepy.ID)},
		{"tenant not allowed for the token", s.tokAcme, "globex"},
		{"tenant not allowed for the token, by uuid", s.tokAcme, s.globex.ID},
		{"inactive tenant the token may not use", s.tokAcme, "sleepy"},
		{"reader token on another tenant", s.tokReader, "globex"},
	}
	t.Run("refused tenants get byte-identical 403s", func(t *testing.T) {
		var first response
		for _, rf := range refusals {
			for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
				before := s.snapshot(t, "webpages_webpage")
				r := s.as(rf.token, rf.tenant).do(t, method, "/webpages_webpage"+q("slug", "eq.home"), `{"title":"x"}`)
				require.Equal(t, http.StatusForbidden, r.Status, "%s %s: %s", rf.name, method, r.Body)
				if first.Body == nil {
					first = r
					assert.Equal(t, "PGT011", r.error(t).Code)
				}
				assert.Equal(t, string(first.Body), string(r.Body), "%s %s", rf.name, method)
				assert.Equal(t, headerNames(first.Header), headerNames(r.Header), "%s %s", rf.name, method)
				assert.Equal(t, first.Header.Get("Content-Type"), r.Header.Get("Content-Type"))
				assert.Equal(t, before, s.snapshot(t, "webpages_webpage"), "nothing written")
			}
			r := s.as(rf.token, rf.tenant).get(t, "/")
			assert.Equal(t, http.StatusForbidden, r.Status, "openapi %s", rf.name)
			assert.Equal(t, string(first.Body), string(r.Body), "openapi %s", rf.name)
			r = s.as(rf.token, rf.tenant).get(t, "/nope")
			assert.Equal(t, string(first.Body), string(r.Body), "unknown table %s: the tenant is refused first", rf.name)
		}
	})
	t.Run("head refusals have no body", func(t *testing.T) {
		for _, rf := range refusals {
			r := s.as(rf.token, rf.tenant).do(t, http.MethodHead, "/webpages_webpage", "")
			assert.Equal(t, http.StatusForbidden, r.Status, rf.name)
			assert.Empty(t, r.Body)
		}
		r := s.as(s.tokAcme, "").do(t, http.MethodHead, "/webpages_webpage", "")
		assert.Equal(t, http.StatusForbidden, r.Status)
		assert.Empty(t, r.Body)
		r = s.as(s.tokAcme, "").do(t, http.MethodHead, "/", "")
		assert.Equal(t, http.StatusForbidden, r.Status)
		assert.Empty(t, r.Body)
	})
	t.Run("duplicate tenant header", func(t *testing.T) {
		for _, second := range []string{"acme", "globex", "initech"} {
			r := s.as(s.tokBoth, "acme").get(t, "/webpages_webpage", tenantHeader+": "+second)
			r.requireStatus(t, http.StatusBadRequest)
			assert.Equal(t, "PGT012", r.error(t).Code)
		}
	})
	t.Run("malformed tenant header", func(t *testing.T) {
		for _, v := range []string{"ACME Corp", "Acme", "acme;drop table", "acme,globex", "-acme", "6f1c2a8e-3b7d-4e0f-9a51",
			strings.Repeat("a", 64), "'acme'",
			// Only SP and HTAB are optional whitespace (RFC 9110 §5.6.3): other spaces are part of the value.
			"\u00a0acme", "acme\u00a0", "\u2003acme", "\u3000" + s.acme.ID, "\ufeffacme"} {
			r := s.as(s.tokAcme, v).get(t, "/webpages_webpage")
			require.Equal(t, http.StatusBadRequest, r.Status, "%q: %s", v, r.Body)
			assert.Equal(t, "PGT013", r.error(t).Code, v)
		}
	})
	t.Run("identifier, uuid and upper-case uuid all work", func(t *testing.T) {
		for _, ref := range []string{"acme", s.acme.ID, strings.ToUpper(s.acme.ID), " acme ", "\tacme\t"} {
			r := s.as(s.tokAcme, ref).get(t, "/webpages_webpage"+q("select", "slug,tenant_id", "order", "slug"))
			require.Equal(t, http.StatusOK, r.Status, "%q: %s", ref, r.Body)
			rows := r.rows(t)
			assert.Equal(t, []string{"about", "blog", "draft", "home"}, col(rows, "slug"), ref)
			assert.Equal(t, []string{s.acme.ID}, unique(col(rows, "tenant_id")), ref)
		}
	})
	t.Run("a token for two tenants acts for the one named", func(t *testing.T) {
		for _, tn := range []struct{ ref, id, title string }{
			{"acme", s.acme.ID, "Acme Home"}, {"globex", s.globex.ID, "Globex Home"},
			{strings.ToUpper(s.globex.ID), s.globex.ID, "Globex Home"},
		} {
			r := s.as(s.tokBoth, tn.ref).get(t, "/webpages_webpage"+q("select", "title,tenant_id", "slug", "eq.home"))
			r.requireStatus(t, http.StatusOK)
			assert.JSONEq(t, `[{"title":"`+tn.title+`","tenant_id":"`+tn.id+`"}]`, string(r.Body))
		}
	})
	t.Run("the tenant is the header's, never the token's other one", func(t *testing.T) {
		page := s.as(s.tokBoth, "globex").insertOne(t, "webpages_webpage", map[string]any{
			"namespace_id": s.as(s.tokBoth, "globex").get(t, "/content_namespace"+q("select", "id")).rows(t)[0]["id"],
			"slug":         "both", "title": "Via both"})
		assert.Equal(t, s.globex.ID, page["tenant_id"])
		r := s.as(s.tokBoth, "acme").get(t, "/webpages_webpage"+q("slug", "eq.both"))
		assert.Equal(t, "[]", string(r.Body))
	})
}

func headerNames(h http.Header) []string {
	var out []string
	for k := range h {
		if k != "Date" && k != "X-Request-Id" {
			out = append(out, k)
		}
	}
	return unique(out)
}

func unique(vs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range vs {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// TestReader: the reader token sees only published pages and can write
// nothing (PostgreSQL refuses: 42501).
func TestReader(t *testing.T) {
	s := newServer(t)
	a := s.acmeApp()
	acme := a.seed(t, "Acme")
	s.globexApp().seed(t, "Globex")
	rd := s.reader()

	t.Run("published pages only", func(t *testing.T) {
		r := rd.get(t, "/webpages_webpage"+q("select", "slug,tenant_id,is_published", "order", "slug"), "Prefer: count=exact")
		r.requireStatus(t, http.StatusOK)
		assert.JSONEq(t, `[{"slug":"about","tenant_id":"`+s.acme.ID+`","is_published":true},`+
			`{"slug":"home","tenant_id":"`+s.acme.ID+`","is_published":true}]`, string(r.Body))
		assert.Equal(t, "0-1/2", r.Header.Get("Content-Range"))
	})
	t.Run("a draft is invisible even by key", func(t *testing.T) {
		r := rd.get(t, "/webpages_webpage"+q("id", "eq."+acme.pages["draft"]), acceptObject)
		r.requireStatus(t, http.StatusNotAcceptable)
	})
	t.Run("media only as a published page's hero", func(t *testing.T) {
		obj := a.insertOne(t, "object_storage_objectinstance", map[string]any{"bucket": "b", "object_key": "k", "size_bytes": 1})
		shown := a.insertOne(t, "file_manager_mediafile", map[string]any{"object_id": obj["id"], "title": "shown", "uploaded_by": "u"})
		a.insertOne(t, "file_manager_mediafile", map[string]any{"object_id": obj["id"], "title": "hidden", "uploaded_by": "u"})
		a.do(t, http.MethodPatch, "/webpages_webpage"+q("slug", "eq.home"), mustJSON(t, map[string]any{"hero_media_id": shown["id"]})).
			requireStatus(t, http.StatusNoContent)
		r := rd.get(t, "/file_manager_mediafile"+q("select", "title")).requireStatus(t, http.StatusOK)
		assert.JSONEq(t, `[{"title":"shown"}]`, string(r.Body))
	})
	tests := []struct {
		name, method, path, body string
	}{
		{"post", http.MethodPost, "/webpages_webpage",
			mustJSON(t, map[string]any{"namespace_id": acme.namespace, "slug": "r", "title": "R"})},
		{"patch", http.MethodPatch, "/webpages_webpage" + q("slug", "eq.home"), `{"title":"x"}`},
		{"delete", http.MethodDelete, "/webpages_webpage" + q("slug", "eq.home"), ""},
		{"post elsewhere", http.MethodPost, "/content_tag",
			mustJSON(t, map[string]any{"namespace_id": acme.namespace, "slug": "t", "name": "T"})},
		{"upsert", http.MethodPost, "/webpages_webpage" + q("on_conflict", "namespace_id,slug"),
			mustJSON(t, map[string]any{"namespace_id": acme.namespace, "slug": "home", "title": "x"})},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			before := s.snapshot(t, "webpages_webpage") + s.snapshot(t, "content_tag")
			r := rd.do(t, tt.method, tt.path, tt.body, "Prefer: return=representation, resolution=merge-duplicates")
			r.requireStatus(t, http.StatusForbidden)
			e := r.error(t)
			assert.Equal(t, "42501", e.Code)
			assert.Contains(t, e.Message, "permission denied")
			assert.Equal(t, before, s.snapshot(t, "webpages_webpage")+s.snapshot(t, "content_tag"), "nothing written")
		})
	}
}
