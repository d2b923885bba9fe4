package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	preferRepr   = "Prefer: return=representation"
	acceptObject = "Accept: application/vnd.pgrst.object+json"
)

// writeFixture is a server with both tenants seeded, for one write test.
type writeFixture struct {
	s          *server
	a          client
	acme, glob site
}

func newWriteFixture(t *testing.T) writeFixture {
	t.Helper()
	s := newServer(t)
	f := writeFixture{s: s, a: s.acmeApp()}
	f.acme = f.a.seed(t, "Acme")
	f.glob = s.globexApp().seed(t, "Globex")
	return f
}

// page is a new page body in acme's namespace.
func (f writeFixture) page(slug string, extra ...any) map[string]any {
	p := map[string]any{"namespace_id": f.acme.namespace, "slug": slug, "title": "T " + slug}
	for i := 0; i+1 < len(extra); i += 2 {
		p[extra[i].(string)] = extra[i+1]
	}
	return p
}

// title returns the title of acme's page slug, as the superuser sees it.
func (f writeFixture) title(t *testing.T, slug string) string {
	t.Helper()
	r := f.a.get(t, "/webpages_webpage"+q("select", "title", "slug", "eq."+slug), acceptObject)
	r.requireStatus(t, http.StatusOK)
	return r.object(t)["title"].(string)
}

func (f writeFixture) pages(t *testing.T) int {
	t.Helper()
	return f.s.count(t, "webpages_webpage", "")
}

func TestWrite_Insert(t *testing.T) {
	f := newWriteFixture(t)
	a := f.a

	t.Run("object without prefer is return=minimal", func(t *testing.T) {
		r := a.do(t, http.MethodPost, "/webpages_webpage", mustJSON(t, f.page("p1")))
		r.requireStatus(t, http.StatusCreated)
		assert.Empty(t, r.Body)
		assert.Equal(t, "*/*", r.Header.Get("Content-Range"))
		assert.Equal(t, 1, f.s.count(t, "webpages_webpage", "slug = 'p1' AND tenant_id = $1", f.s.acme.ID))
	})
	t.Run("return=minimal is applied", func(t *testing.T) {
		r := a.do(t, http.MethodPost, "/webpages_webpage", mustJSON(t, f.page("p2")), "Prefer: return=minimal")
		r.requireStatus(t, http.StatusCreated)
		assert.Empty(t, r.Body)
		assert.Equal(t, "return=minimal", r.Header.Get("Preference-Applied"))
	})
	t.Run("array with return=representation", func(t *testing.T) {
		r := a.do(t, http.MethodPost, "/webpages_webpage"+q("select", "slug,tenant_id"),
			mustJSON(t, []any{f.page("p3"), f.page("p4")}), preferRepr+", count=exact")
		r.requireStatus(t, http.StatusCreated)
		assert.JSONEq(t, fmt.Sprintf(`[{"slug":"p3","tenant_id":%q},{"slug":"p4","tenant_id":%q}]`, f.s.acme.ID, f.s.acme.ID),
			string(r.Body))
		assert.Equal(t, "*/2", r.Header.Get("Content-Range"))
		assert.Equal(t, "application/json; charset=utf-8", r.Header.Get("Content-Type"))
		assert.Equal(t, "return=representation, count=exact", r.Header.Get("Preference-Applied"))
	})
	t.Run("singular insert returns the object", func(t *testing.T) {
		r := a.do(t, http.MethodPost, "/webpages_webpage"+q("select", "slug,is_published"), mustJSON(t, f.page("p5")),
			preferRepr, acceptObject)
		r.requireStatus(t, http.StatusCreated)
		assert.Equal(t, `{"slug":"p5","is_published":false}`, compactJSON(t, r.Body))
		assert.Equal(t, "application/vnd.pgrst.object+json; charset=utf-8", r.Header.Get("Content-Type"))
	})
	t.Run("columns picks the keys and a missing one is null", func(t *testing.T) {
		rows := []any{f.page("c1", "body", "b1", "not_a_column", "ignored"), f.page("c2")}
		r := a.do(t, http.MethodPost, "/webpages_webpage"+q("columns", `"namespace_id","slug","title","body"`,
			"select", "slug,body"), mustJSON(t, rows), preferRepr)
		r.requireStatus(t, http.StatusCreated)
		assert.JSONEq(t, `[{"slug":"c1","body":"b1"},{"slug":"c2","body":null}]`, string(r.Body))
	})
	t.Run("columns without missing=default sends null for a missing NOT NULL key", func(t *testing.T) {
		before := f.pages(t)
		rows := []any{f.page("d1", "is_published", false), f.page("d2")}
		r := a.do(t, http.MethodPost, "/webpages_webpage"+q("columns", "namespace_id,slug,title,is_published"),
			mustJSON(t, rows))
		r.requireStatus(t, http.StatusBadRequest)
		e := r.error(t)
		assert.Equal(t, "23502", e.Code)
		assert.Nil(t, e.Details, "PostgreSQL's DETAIL (the failing row) is never sent")
		assert.Equal(t, before, f.pages(t), "nothing written")
	})
	t.Run("columns with missing=default takes the default", func(t *testing.T) {
		rows := []any{f.page("d1", "is_published", false), f.page("d2")}
		r := a.do(t, http.MethodPost, "/webpages_webpage"+q("columns", "namespace_id,slug,title,is_published",
			"select", "slug,is_published"), mustJSON(t, rows), "Prefer: missing=default, return=representation")
		r.requireStatus(t, http.StatusCreated)
		assert.JSONEq(t, `[{"slug":"d1","is_published":false},{"slug":"d2","is_published":false}]`, string(r.Body))
		assert.Equal(t, "return=representation, missing=default", r.Header.Get("Preference-Applied"))
	})
	t.Run("one object with missing=default", func(t *testing.T) {
		r := a.do(t, http.MethodPost, "/webpages_webpage"+q("columns", "namespace_id,slug,title,is_published",
			"select", "slug,is_published"), mustJSON(t, f.page("d3")), "Prefer: missing=default, return=representation")
		r.requireStatus(t, http.StatusCreated)
		assert.JSONEq(t, `[{"slug":"d3","is_published":false}]`, string(r.Body))
	})
	t.Run("an empty array inserts nothing", func(t *testing.T) {
		r := a.do(t, http.MethodPost, "/webpages_webpage", `[]`, preferRepr)
		r.requireStatus(t, http.StatusCreated)
		assert.JSONEq(t, `[]`, string(r.Body))
	})
	t.Run("content-profile public is accepted", func(t *testing.T) {
		r := a.do(t, http.MethodPost, "/webpages_webpage", mustJSON(t, f.page("cp")), "Content-Profile: public")
		r.requireStatus(t, http.StatusCreated)
	})
	t.Run("content-type with a charset is json", func(t *testing.T) {
		r := a.do(t, http.MethodPost, "/webpages_webpage", mustJSON(t, f.page("cs")),
			"Content-Type: application/json; charset=utf-8")
		r.requireStatus(t, http.StatusCreated)
	})
}

func TestWrite_Upsert(t *testing.T) {
	f := newWriteFixture(t)
	a := f.a

	t.Run("merge-duplicates on_conflict updates and answers 200", func(t *testing.T) {
		r := a.do(t, http.MethodPost, "/webpages_webpage"+q("on_conflict", "namespace_id,slug", "select", "slug,title"),
			mustJSON(t, map[string]any{"namespace_id": f.acme.namespace, "slug": "home", "title": "Merged home"}),
			"Prefer: resolution=merge-duplicates, return=representation")
		r.requireStatus(t, http.StatusOK)
		assert.JSONEq(t, `[{"slug":"home","title":"Merged home"}]`, string(r.Body))
		assert.Equal(t, "Merged home", f.title(t, "home"))
		assert.Equal(t, "return=representation, resolution=merge-duplicates", r.Header.Get("Preference-Applied"))
	})
	t.Run("merge-duplicates with a new row answers 201", func(t *testing.T) {
		rows := []any{
			map[string]any{"namespace_id": f.acme.namespace, "slug": "home", "title": "Merged again"},
			map[string]any{"namespace_id": f.acme.namespace, "slug": "new-one", "title": "New"},
		}
		r := a.do(t, http.MethodPost, "/webpages_webpage"+q("on_conflict", "namespace_id,slug"), mustJSON(t, rows),
			"Prefer: resolution=merge-duplicates")
		r.requireStatus(t, http.StatusCreated)
		assert.Empty(t, r.Body)
		assert.Equal(t, "Merged again", f.title(t, "home"))
		assert.Equal(t, "New", f.title(t, "new-one"))
	})
	t.Run("merge-duplicates on the primary key by default", func(t *testing.T) {
		r := a.do(t, http.MethodPost, "/webpages_webpage"+q("select", "id,title"),
			mustJSON(t, map[string]any{"id": f.acme.pages["about"], "namespace_id": f.acme.namespace, "slug": "about",
				"title": "By id"}), "Prefer: resolution=merge-duplicates, return=representation")
		r.requireStatus(t, http.StatusOK)
		assert.JSONEq(t, fmt.Sprintf(`[{"id":%q,"title":"By id"}]`, f.acme.pages["about"]), string(r.Body))
	})
	t.Run("ignore-duplicates keeps the row and answers 201 with no rows", func(t *testing.T) {
		r := a.do(t, http.MethodPost, "/webpages_webpage"+q("on_conflict", "namespace_id,slug"),
			mustJSON(t, map[string]any{"namespace_id": f.acme.namespace, "slug": "blog", "title": "Ignored"}),
			"Prefer: resolution=ignore-duplicates, return=representation")
		r.requireStatus(t, http.StatusCreated)
		assert.JSONEq(t, `[]`, string(r.Body))
		assert.Equal(t, "Acme Blog", f.title(t, "blog"))
	})
	t.Run("without resolution a duplicate is a conflict", func(t *testing.T) {
		r := a.do(t, http.MethodPost, "/webpages_webpage",
			mustJSON(t, map[string]any{"namespace_id": f.acme.namespace, "slug": "blog", "title": "Dup"}))
		r.requireStatus(t, http.StatusConflict)
		e := r.error(t)
		assert.Equal(t, "23505", e.Code)
		assert.Nil(t, e.Details, "DETAIL quotes key values")
		assert.NotContains(t, string(r.Body), "Key (")
	})
	t.Run("globex untouched", func(t *testing.T) {
		r := f.s.globexApp().get(t, "/webpages_webpage"+q("select", "slug,title", "order", "slug"))
		assert.JSONEq(t, `[{"slug":"about","title":"Globex About us"},{"slug":"blog","title":"Globex Blog"},`+
			`{"slug":"draft","title":"Globex Draft"},{"slug":"home","title":"Globex Home"}]`, string(r.Body))
	})
}

func TestWrite_UpdateDelete(t *testing.T) {
	f := newWriteFixture(t)
	a := f.a

	t.Run("patch", func(t *testing.T) {
		r := a.do(t, http.MethodPatch, "/webpages_webpage"+q("slug", "eq.home"), `{"title":"Patched"}`)
		r.requireStatus(t, http.StatusNoContent)
		assert.Empty(t, r.Body)
		assert.Equal(t, "0-0/*", r.Header.Get("Content-Range"))
		assert.Equal(t, "Patched", f.title(t, "home"))
	})
	t.Run("patch with representation and count", func(t *testing.T) {
		r := a.do(t, http.MethodPatch, "/webpages_webpage"+q("slug", "in.(home,about)", "select", "slug,title"),
			`{"title":"Twice"}`, preferRepr+", count=exact")
		r.requireStatus(t, http.StatusOK)
		rows := r.rows(t)
		assert.Equal(t, []string{"about", "home"}, col(rows, "slug"))
		assert.Equal(t, []string{"Twice", "Twice"}, col(rows, "title"))
		assert.Equal(t, "0-1/2", r.Header.Get("Content-Range"))
	})
	t.Run("patch matching nothing", func(t *testing.T) {
		r := a.do(t, http.MethodPatch, "/webpages_webpage"+q("slug", "eq.nope"), `{"title":"x"}`)
		r.requireStatus(t, http.StatusNoContent)
		assert.Equal(t, "*/*", r.Header.Get("Content-Range"))
		r = a.do(t, http.MethodPatch, "/webpages_webpage"+q("slug", "eq.nope"), `{"title":"x"}`, preferRepr)
		r.requireStatus(t, http.StatusOK)
		assert.JSONEq(t, `[]`, string(r.Body))
	})
	t.Run("patch with columns and missing=default", func(t *testing.T) {
		a.do(t, http.MethodPatch, "/webpages_webpage"+q("slug", "eq.draft"), `{"body":"set"}`).requireStatus(t, 204)
		r := a.do(t, http.MethodPatch, "/webpages_webpage"+q("slug", "eq.draft", "columns", "title,body", "select", "title,body"),
			`{"title":"Defaulted"}`, "Prefer: missing=default, return=representation")
		r.requireStatus(t, http.StatusOK)
		assert.JSONEq(t, `[{"title":"Defaulted","body":null}]`, string(r.Body), "body has no default: DEFAULT is NULL")
	})
	t.Run("patch with order and limit changes only the first rows", func(t *testing.T) {
		r := a.do(t, http.MethodPatch, "/webpages_webpage"+q("is_published", "is.false", "order", "slug", "limit", "1",
			"select", "slug"), `{"title":"First unpublished"}`, preferRepr)
		r.requireStatus(t, http.StatusOK)
		assert.JSONEq(t, `[{"slug":"blog"}]`, string(r.Body))
		assert.Equal(t, "Defaulted", f.title(t, "draft"))
	})
	t.Run("an empty patch changes nothing", func(t *testing.T) {
		r := a.do(t, http.MethodPatch, "/webpages_webpage"+q("slug", "eq.home"), `{}`, preferRepr)
		r.requireStatus(t, http.StatusOK)
		assert.JSONEq(t, `[]`, string(r.Body))
	})
	t.Run("delete", func(t *testing.T) {
		r := a.do(t, http.MethodDelete, "/webpages_webpage"+q("slug", "eq.blog"), "", "Content-Type: application/json")
		r.requireStatus(t, http.StatusNoContent)
		assert.Empty(t, r.Body)
		assert.Equal(t, 0, f.s.count(t, "webpages_webpage", "slug = 'blog' AND tenant_id = $1", f.s.acme.ID))
		assert.Equal(t, 1, f.s.count(t, "webpages_webpage", "slug = 'blog' AND tenant_id = $1", f.s.globex.ID))
	})
	t.Run("delete with representation and count", func(t *testing.T) {
		r := a.do(t, http.MethodDelete, "/webpages_webpage"+q("slug", "eq.draft", "select", "slug"), "",
			preferRepr+", count=exact")
		r.requireStatus(t, http.StatusOK)
		assert.JSONEq(t, `[{"slug":"draft"}]`, string(r.Body))
		assert.Equal(t, "*/1", r.Header.Get("Content-Range"))
	})
	t.Run("delete matching nothing", func(t *testing.T) {
		r := a.do(t, http.MethodDelete, "/webpages_webpage"+q("slug", "eq.nope"), "", "Prefer: count=exact")
		r.requireStatus(t, http.StatusNoContent)
		assert.Equal(t, "*/0", r.Header.Get("Content-Range"))
	})
}

// TestWrite_Preferences covers tx=rollback, max-affected with strict
// handling and singular writes: whatever is refused or rolled back leaves
// the table exactly as it was.
func TestWrite_Preferences(t *testing.T) {
	f := newWriteFixture(t)
	a := f.a
	table := func() string { return f.s.snapshot(t, "webpages_webpage") }

	tests := []struct {
		name    string
		method  string
		query   []string
		body    any
		headers []string
		status  int
		code    string // error code, for a refusal
		body2   string // the response body, compact JSON, when checked
		applied string // Preference-Applied
		kept    bool   // the change stays
	}{
		{name: "post tx=rollback", method: "POST", body: f.page("rb1"), query: []string{"select", "slug"},
			headers: []string{"Prefer: tx=rollback, return=representation"}, status: 201, body2: `[{"slug":"rb1"}]`,
			applied: "return=representation, tx=rollback"},
		{name: "patch tx=rollback", method: "PATCH", query: []string{"slug", "eq.home", "select", "title"},
			body: map[string]any{"title": "Rolled back"}, headers: []string{"Prefer: tx=rollback, return=representation"},
			status: 200, body2: `[{"title":"Rolled back"}]`, applied: "return=representation, tx=rollback"},
		{name: "delete tx=rollback", method: "DELETE", query: []string{"slug", "in.(home,about)"},
			headers: []string{"Prefer: tx=rollback"}, status: 204, applied: "tx=rollback"},
		{name: "post tx=rollback, minimal", method: "POST", body: []any{f.page("rb2"), f.page("rb3")},
			headers: []string{"Prefer: tx=rollback"}, status: 201, applied: "tx=rollback"},
		{name: "patch max-affected strict exceeded", method: "PATCH", query: []string{"is_published", "is.true"},
			body: map[string]any{"title": "Too many"}, headers: []string{"Prefer: handling=strict, max-affected=1"},
			status: 400, code: "PGRST124"},
		{name: "delete max-affected strict exceeded", method: "DELETE", query: []string{"slug", "neq.x"},
			headers: []string{"Prefer: handling=strict, max-affected=3"}, status: 400, code: "PGRST124"},
		{name: "post max-affected strict exceeded", method: "POST", body: []any{f.page("m1"), f.page("m2")},
			headers: []string{"Prefer: handling=strict, max-affected=1"}, status: 400, code: "PGRST124"},
		{name: "max-affected strict exceeded with representation", method: "PATCH",
			query: []string{"is_published", "is.true"}, body: map[string]any{"title": "Too many"},
			headers: []string{"Prefer: return=representation, handling=strict, max-affected=0"}, status: 400, code: "PGRST124"},
		{name: "singular post of two rows", method: "POST", body: []any{f.page("s1"), f.page("s2")},
			headers: []string{acceptObject, preferRepr}, status: 406, code: "PGRST116"},
		{name: "singular post of two rows, minimal", method: "POST", body: []any{f.page("s1"), f.page("s2")},
			headers: []string{acceptObject}, status: 406, code: "PGRST116"},
		{name: "singular patch of two rows", method: "PATCH", query: []string{"slug", "in.(home,about)"},
			body: map[string]any{"title": "Both"}, headers: []string{acceptObject, preferRepr}, status: 406, code: "PGRST116"},
		{name: "singular patch of no row", method: "PATCH", query: []string{"slug", "eq.nope"},
			body: map[string]any{"title": "None"}, headers: []string{acceptObject}, status: 406, code: "PGRST116"},
		{name: "singular delete of two rows", method: "DELETE", query: []string{"is_published", "is.false"},
			headers: []string{acceptObject}, status: 406, code: "PGRST116"},
		{name: "singular delete of another tenant's row", method: "DELETE", query: []string{"id", "eq." + f.glob.pages["home"]},
			headers: []string{acceptObject}, status: 406, code: "PGRST116"},
		{name: "patch without a filter", method: "PATCH", body: map[string]any{"title": "All"}, status: 400, code: "PGT021"},
		{name: "delete without a filter", method: "DELETE", status: 400, code: "PGT021"},
		{name: "patch without a filter, tx=rollback", method: "PATCH", body: map[string]any{"title": "All"},
			headers: []string{"Prefer: tx=rollback"}, status: 400, code: "PGT021"},
		{name: "delete without a filter, tx=rollback", method: "DELETE", headers: []string{"Prefer: tx=rollback"},
			status: 400, code: "PGT021"},
		{name: "delete with only limit and order", method: "DELETE", query: []string{"limit", "1", "order", "slug"},
			status: 400, code: "PGT021"},
		{name: "patch with only select", method: "PATCH", query: []string{"select", "slug"},
			body: map[string]any{"title": "All"}, headers: []string{preferRepr}, status: 400, code: "PGT021"},
		{name: "delete with only on_conflict and columns", method: "DELETE", query: []string{"columns", "slug", "on_conflict", "slug"},
			status: 400, code: "PGT021"},
		// What is allowed goes through (last: these change the table).
		{name: "patch max-affected strict within", method: "PATCH", query: []string{"is_published", "is.true"},
			body: map[string]any{"title": "Two"}, headers: []string{"Prefer: handling=strict, max-affected=2"}, status: 204,
			applied: "handling=strict, max-affected=2", kept: true},
		{name: "max-affected without strict is ignored", method: "PATCH", query: []string{"is_published", "is.true"},
			body: map[string]any{"title": "Lenient"}, headers: []string{"Prefer: max-affected=1"}, status: 204, kept: true},
		{name: "post tx=commit", method: "POST", body: f.page("kept"), headers: []string{"Prefer: tx=commit"}, status: 201,
			applied: "tx=commit", kept: true},
		{name: "singular delete of one row", method: "DELETE", query: []string{"slug", "eq.draft"},
			headers: []string{acceptObject}, status: 204, kept: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := table()
			body := ""
			if tt.body != nil {
				body = mustJSON(t, tt.body)
			}
			r := a.do(t, tt.method, "/webpages_webpage"+q(tt.query...), body, tt.headers...)
			require.Equal(t, tt.status, r.Status, "body %s", r.Body)
			if tt.code != "" {
				assert.Equal(t, tt.code, r.error(t).Code)
			}
			if tt.body2 != "" {
				assert.Equal(t, tt.body2, compactJSON(t, r.Body))
			}
			if tt.applied != "" {
				assert.Equal(t, tt.applied, r.Header.Get("Preference-Applied"))
			}
			if tt.kept {
				assert.NotEqual(t, before, table(), "the change is kept")
			} else {
				assert.Equal(t, before, table(), "nothing changed")
			}
		})
	}
	t.Run("max-affected error details", func(t *testing.T) {
		r := a.do(t, http.MethodDelete, "/webpages_webpage"+q("slug", "neq.x"), "", "Prefer: handling=strict, max-affected=1")
		r.requireStatus(t, http.StatusBadRequest)
		e := r.error(t)
		assert.Equal(t, "Query result exceeds max-affected preference constraint", e.Message)
		require.NotNil(t, e.Details)
		assert.True(t, strings.HasPrefix(*e.Details, "The query affects "), *e.Details)
	})
}

// TestWrite_DatabaseErrors checks the SQLSTATE mapping of write failures
// and that PostgreSQL's DETAIL never reaches the client.
func TestWrite_DatabaseErrors(t *testing.T) {
	f := newWriteFixture(t)
	a := f.a
	tests := []struct {
		name   string
		method string
		query  []string
		body   any
		status int
		code   string
	}{
		{"unique violation", "POST", nil, f.page("home"), 409, "23505"},
		{"foreign key to nothing", "POST", nil,
			f.page("fk", "namespace_id", "00000000-0000-4000-8000-000000000000"), 409, "23503"},
		{"foreign key to another tenant's row", "POST", nil, f.page("fk2", "namespace_id", f.glob.namespace), 409, "23503"},
		{"not null", "POST", nil, map[string]any{"namespace_id": f.acme.namespace, "slug": "nn"}, 400, "23502"},
		{"check constraint", "POST", nil, f.page("ck", "is_published", true), 400, "23514"},
		{"invalid uuid in the body", "POST", nil, f.page("bad", "namespace_id", "not-a-uuid"), 400, "22P02"},
		{"invalid uuid in a filter", "GET", []string{"id", "eq.not-a-uuid"}, nil, 400, "22P02"},
		{"invalid timestamp in a filter", "GET", []string{"published_at", "gt.yesterday-ish"}, nil, 400, "22007"},
		{"value too long", "POST", nil, f.page(strings.Repeat("x", 201)), 400, "22001"},
		{"patch into a unique violation", "PATCH", []string{"slug", "eq.draft"}, map[string]any{"slug": "home"}, 409, "23505"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.s.snapshot(t, "webpages_webpage")
			body := ""
			if tt.body != nil {
				body = mustJSON(t, tt.body)
			}
			r := a.do(t, tt.method, "/webpages_webpage"+q(tt.query...), body)
			require.Equal(t, tt.status, r.Status, "body %s", r.Body)
			e := r.error(t)
			assert.Equal(t, tt.code, e.Code)
			assert.Nil(t, e.Details, "PostgreSQL's DETAIL is never sent")
			for _, secret := range []string{f.glob.namespace, f.s.globex.ID, "Key (", "Failing row"} {
				assert.NotContains(t, string(r.Body), secret)
			}
			assert.Equal(t, before, f.s.snapshot(t, "webpages_webpage"))
		})
	}
	t.Run("a reference to another tenant's row fails as one to nothing", func(t *testing.T) {
		theirs := a.do(t, http.MethodPost, "/webpages_webpage", mustJSON(t, f.page("fk3", "namespace_id", f.glob.namespace)))
		nothing := a.do(t, http.MethodPost, "/webpages_webpage",
			mustJSON(t, f.page("fk3", "namespace_id", "00000000-0000-4000-8000-000000000000")))
		assert.Equal(t, nothing.Status, theirs.Status)
		assert.Equal(t, string(nothing.Body), string(theirs.Body))
	})
	t.Run("restrict on delete", func(t *testing.T) {
		obj := a.insertOne(t, "object_storage_objectinstance", map[string]any{"bucket": "b", "object_key": "k", "size_bytes": 1})
		a.insertOne(t, "file_manager_mediafile", map[string]any{"object_id": obj["id"], "title": "m", "uploaded_by": "u"})
		r := a.do(t, http.MethodDelete, "/object_storage_objectinstance"+q("id", "eq."+obj["id"].(string)), "")
		r.requireStatus(t, http.StatusConflict)
		assert.Equal(t, "23503", r.error(t).Code)
	})
}
