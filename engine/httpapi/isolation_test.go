package httpapi_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/query"
	"pgtenant/schema"
)

// tableSpec says how to make rows of one tenant table through the API.
type tableSpec struct {
	name string
	pk   []string
	// row returns a new row body; deps holds the rows made so far for the
	// same tenant (by table), n makes it unique.
	row func(t *testing.T, c client, deps rowSet, n int) map[string]any
	// patch is a PATCH body that changes a row.
	patch func(deps rowSet) map[string]any
}

// rowSet is one row per table, as the API returned it.
type rowSet map[string]map[string]any

func (rs rowSet) id(table string) any { return rs[table]["id"] }

// tenantTables lists the tenant tables of policies.hcl in an order that
// satisfies the foreign keys, with realistic rows. TestIsolation derives a
// spec for a tenant table missing here (derivedSpec), and fails when it
// cannot.
var tenantTables = []tableSpec{
	{name: "content_namespace", pk: []string{"id"},
		row: func(_ *testing.T, _ client, _ rowSet, n int) map[string]any {
			return map[string]any{"slug": fmt.Sprintf("ns-%d", n), "name": "Namespace"}
		},
		patch: func(rowSet) map[string]any { return map[string]any{"name": "Renamed"} }},
	{name: "content_category", pk: []string{"id"},
		row: func(_ *testing.T, _ client, d rowSet, n int) map[string]any {
			return map[string]any{"namespace_id": d.id("content_namespace"), "slug": fmt.Sprintf("cat-%d", n), "name": "Cat"}
		},
		patch: func(rowSet) map[string]any { return map[string]any{"position": 7} }},
	{name: "content_tag", pk: []string{"id"},
		row: func(_ *testing.T, _ client, d rowSet, n int) map[string]any {
			return map[string]any{"namespace_id": d.id("content_namespace"), "slug": fmt.Sprintf("tag-%d", n), "name": "Tag"}
		},
		patch: func(rowSet) map[string]any { return map[string]any{"name": "Retagged"} }},
	{name: "object_storage_objectinstance", pk: []string{"id"},
		row: func(_ *testing.T, _ client, _ rowSet, n int) map[string]any {
			return map[string]any{"bucket": "media", "object_key": fmt.Sprintf("k/%d", n), "size_bytes": 10 + n}
		},
		patch: func(rowSet) map[string]any { return map[string]any{"checksum_sha256": "abc"} }},
	{name: "file_manager_mediafile", pk: []string{"id"},
		row: func(_ *testing.T, _ client, d rowSet, n int) map[string]any {
			return map[string]any{"object_id": d.id("object_storage_objectinstance"), "title": fmt.Sprintf("m%d", n),
				"uploaded_by": "u"}
		},
		patch: func(rowSet) map[string]any { return map[string]any{"alt_text": "changed"} }},
	{name: "webpages_pagetheme", pk: []string{"id"},
		row: func(_ *testing.T, _ client, _ rowSet, n int) map[string]any {
			return map[string]any{"name": fmt.Sprintf("theme-%d", n), "settings": map[string]any{"n": n}}
		},
		patch: func(rowSet) map[string]any { return map[string]any{"settings": map[string]any{"changed": true}} }},
	{name: "webpages_webpage", pk: []string{"id"},
		row: func(_ *testing.T, _ client, d rowSet, n int) map[string]any {
			return map[string]any{"namespace_id": d.id("content_namespace"), "category_id": d.id("content_category"),
				"theme_id": d.id("webpages_pagetheme"), "hero_media_id": d.id("file_manager_mediafile"),
				"slug": fmt.Sprintf("page-%d", n), "title": "Page", "is_published": true, "published_at": "2026-03-01T00:00:00Z"}
		},
		patch: func(rowSet) map[string]any { return map[string]any{"title": "Changed"} }},
	{name: "webpages_webpage_tags", pk: []string{"webpage_id", "tag_id"},
		row: func(t *testing.T, c client, d rowSet, n int) map[string]any {
			// A fresh tag each time: the key is (webpage_id, tag_id).
			tag := c.insertOne(t, "content_tag", map[string]any{"namespace_id": d.id("content_namespace"),
				"slug": fmt.Sprintf("link-%d", n), "name": "Link"})
			return map[string]any{"webpage_id": d.id("webpages_webpage"), "tag_id": tag["id"]}
		},
		patch: func(d rowSet) map[string]any { return map[string]any{"tag_id": d.id("content_tag")} }},
}

// derivedSpec makes rows for a tenant table that has no hand-written spec (one added to policies.hcl since):
// every NOT NULL column without a default gets a sample value of its type, or the id of the row made for the
// table it references; the patch changes the first text column, or, in a link table without one, sets a
// reference to the row it already names. ok is
// false for a table it cannot fill.
func derivedSpec(m *schema.Model, tb *schema.Table) (spec tableSpec, ok bool) {
	refs := map[string]string{}
	for _, fk := range tb.ForeignKeys {
		if len(fk.Columns) == 1 {
			refs[fk.Columns[0]] = fk.RefTable
		}
	}
	var patchCol string
	type fill struct {
		col   string
		value func(d rowSet, n int) any
		ref   bool
	}
	var fills []fill
	for _, c := range tb.Columns {
		typ := schema.CanonicalType(c.Type) // the server's model is introspected: format_type's spelling
		text := typ == "text" || strings.HasPrefix(typ, "character varying")
		if text && patchCol == "" {
			patchCol = c.Name
		}
		if c.Null || c.Default != "" {
			continue
		}
		if ref, isRef := refs[c.Name]; isRef {
			if rt := m.Table(ref); rt == nil || rt.Shared {
				return tableSpec{}, false
			}
			fills = append(fills, fill{c.Name, func(d rowSet, _ int) any { return d.id(ref) }, true})
			continue
		}
		switch {
		case text:
			fills = append(fills, fill{c.Name, func(_ rowSet, n int) any { return fmt.Sprintf("v%d", n) }, false})
		case typ == "integer" || typ == "bigint" || typ == "smallint" || strings.HasPrefix(typ, "numeric"):
			fills = append(fills, fill{c.Name, func(_ rowSet, n int) any { return n + 1 }, false})
		case typ == "boolean":
			fills = append(fills, fill{c.Name, func(rowSet, int) any { return true }, false})
		case typ == "uuid":
			fills = append(fills, fill{c.Name, func(rowSet, int) any { return randomUUID() }, false})
		case strings.HasPrefix(typ, "timestamp") || typ == "date":
			fills = append(fills, fill{c.Name, func(rowSet, int) any { return "2026-01-01T00:00:00Z" }, false})
		case typ == "jsonb" || typ == "json":
			fills = append(fills, fill{c.Name, func(rowSet, int) any { return map[string]any{} }, false})
		default:
			return tableSpec{}, false
		}
	}
	patch := func(rowSet) map[string]any { return map[string]any{patchCol: "changed"} }
	if patchCol == "" {
		// No text column (a link table): set a reference to the row it already names.
		i := slices.IndexFunc(fills, func(f fill) bool { return f.ref })
		if i < 0 {
			return tableSpec{}, false
		}
		f := fills[i]
		patch = func(d rowSet) map[string]any { return map[string]any{f.col: f.value(d, 0)} }
	}
	return tableSpec{name: tb.Name, pk: tb.PrimaryKey.Columns,
		row: func(_ *testing.T, _ client, d rowSet, n int) map[string]any {
			row := map[string]any{}
			for _, f := range fills {
				row[f.col] = f.value(d, n)
			}
			return row
		},
		patch: patch}, true
}

// specs returns the hand-written specs and one derived for each other tenant table of m, after them, each after
// the tables its foreign keys reference.
func specs(t *testing.T, m *schema.Model) []tableSpec {
	out := slices.Clone(tenantTables)
	return append(out, derivedSpecs(t, m, out)...)
}

// derivedSpecs derives a spec for every tenant table of m without one in have, in an order that satisfies the
// foreign keys (the server's model is introspected, in name order).
func derivedSpecs(t *testing.T, m *schema.Model, have []tableSpec) []tableSpec {
	t.Helper()
	done := map[string]bool{}
	for _, s := range have {
		done[s.name] = true
	}
	var out []tableSpec
	for progress := true; progress; {
		progress = false
		for _, tb := range m.Tables {
			if tb.Shared || done[tb.Name] || slices.ContainsFunc(tb.ForeignKeys, func(fk *schema.ForeignKey) bool {
				ref := m.Table(fk.RefTable)
				return ref != nil && !ref.Shared && fk.RefTable != tb.Name && !done[fk.RefTable]
			}) {
				continue
			}
			spec, ok := derivedSpec(m, tb)
			require.True(t, ok, "tenant table %s: cannot derive sample rows; add a tableSpec to tenantTables", tb.Name)
			out, done[tb.Name], progress = append(out, spec), true, true
		}
	}
	for _, tb := range m.Tables {
		require.True(t, tb.Shared || done[tb.Name], "tenant table %s: its foreign keys form a cycle; add a tableSpec", tb.Name)
	}
	return out
}

// seedTables makes one row in every tenant table for c.
func seedTables(t *testing.T, c client, specs []tableSpec) rowSet {
	t.Helper()
	rs := rowSet{}
	for i, spec := range specs {
		rs[spec.name] = c.insertOne(t, spec.name, spec.row(t, c, rs, i))
	}
	return rs
}

// pkQuery is the filter that picks row by its primary key.
func pkQuery(spec tableSpec, row map[string]any, extra ...string) string {
	var pairs []string
	for _, k := range spec.pk {
		pairs = append(pairs, k, fmt.Sprintf("eq.%v", row[k]))
	}
	return q(append(pairs, extra...)...)
}

// TestIsolation runs every endpoint against every tenant table as acme,
// aiming at globex's rows: acme never sees them, never changes them, and
// cannot write a row into globex. Globex's rows are compared, as the
// superuser sees them, before and after.
func TestIsolation(t *testing.T) { isolationSuite(t, newServer(t)) }

// isolationSuite is TestIsolation's body, on s: also run on a Citus cluster (TestCitus_HTTPIsolation).
func isolationSuite(t *testing.T, s *server) {
	a, g := s.acmeApp(), s.globexApp()
	tables := specs(t, s.model)
	acmeRows, globexRows := seedTables(t, a, tables), seedTables(t, g, tables)
	globexBefore := map[string]string{}
	for _, spec := range tables {
		globexBefore[spec.name] = s.snapshotWhere(t, spec.name, "tenant_id = $1", s.globex.ID)
	}

	for i, spec := range tables {
		t.Run(spec.name, func(t *testing.T) {
			theirs, mine := globexRows[spec.name], acmeRows[spec.name]
			path := "/" + spec.name
			unchanged := func(t *testing.T) {
				t.Helper()
				assert.Equal(t, globexBefore[spec.name], s.snapshotWhere(t, spec.name, "tenant_id = $1", s.globex.ID),
					"globex's rows changed")
			}
			// ownRows: the response holds rows, and each is acme's (an empty answer would prove nothing).
			ownRows := func(t *testing.T, r response) {
				t.Helper()
				require.NotEmpty(t, r.rows(t), "no row came back: %s", r.Body)
				for _, row := range r.rows(t) {
					assert.Equal(t, s.acme.ID, row["tenant_id"], "a row of another tenant: %v", row)
				}
			}

			t.Run("get lists only own rows", func(t *testing.T) {
				r := a.get(t, path).requireStatus(t, http.StatusOK)
				ownRows(t, r)
				assert.NotEmpty(t, r.rows(t))
				assert.NotContains(t, string(r.Body), s.globex.ID)
			})
			t.Run("get by another tenant's key", func(t *testing.T) {
				r := a.get(t, path+pkQuery(spec, theirs)).requireStatus(t, http.StatusOK)
				assert.Equal(t, "[]", string(r.Body))
				assert.Equal(t, "*/*", r.Header.Get("Content-Range"))
			})
			t.Run("get by another tenant's key with count", func(t *testing.T) {
				r := a.get(t, path+pkQuery(spec, theirs), "Prefer: count=exact").requireStatus(t, http.StatusOK)
				assert.Equal(t, "[]", string(r.Body))
				assert.Equal(t, "*/0", r.Header.Get("Content-Range"))
			})
			t.Run("get singular by another tenant's key", func(t *testing.T) {
				r := a.get(t, path+pkQuery(spec, theirs), acceptObject).requireStatus(t, http.StatusNotAcceptable)
				assert.Equal(t, "PGRST116", r.error(t).Code)
			})
			t.Run("get own row by key", func(t *testing.T) {
				r := a.get(t, path+pkQuery(spec, mine), acceptObject).requireStatus(t, http.StatusOK)
				assert.Equal(t, s.acme.ID, r.object(t)["tenant_id"])
			})
			t.Run("get with or over both tenants' keys", func(t *testing.T) {
				var terms []string
				for _, row := range []map[string]any{mine, theirs} {
					var and []string
					for _, k := range spec.pk {
						and = append(and, fmt.Sprintf("%s.eq.%v", k, row[k]))
					}
					terms = append(terms, "and("+strings.Join(and, ",")+")")
				}
				r := a.get(t, path+q("or", "("+strings.Join(terms, ",")+")")).requireStatus(t, http.StatusOK)
				ownRows(t, r)
				assert.Len(t, r.rows(t), 1)
			})
			t.Run("head by another tenant's key", func(t *testing.T) {
				r := a.do(t, http.MethodHead, path+pkQuery(spec, theirs), "", "Prefer: count=exact")
				r.requireStatus(t, http.StatusOK)
				assert.Empty(t, r.Body)
				assert.Equal(t, "*/0", r.Header.Get("Content-Range"))
			})
			t.Run("patch another tenant's row", func(t *testing.T) {
				body := mustJSON(t, spec.patch(acmeRows))
				r := a.do(t, http.MethodPatch, path+pkQuery(spec, theirs), body)
				r.requireStatus(t, http.StatusNoContent)
				r = a.do(t, http.MethodPatch, path+pkQuery(spec, theirs), body, preferRepr+", count=exact")
				r.requireStatus(t, http.StatusOK)
				assert.Equal(t, "[]", string(r.Body))
				assert.Equal(t, "*/0", r.Header.Get("Content-Range"))
				r = a.do(t, http.MethodPatch, path+pkQuery(spec, theirs), body, acceptObject)
				r.requireStatus(t, http.StatusNotAcceptable)
				unchanged(t)
			})
			t.Run("patch every visible row", func(t *testing.T) {
				// A filter that matches every row of every tenant: RLS and the
				// statement's own tenant predicate keep it to acme's.
				k := spec.pk[0]
				r := a.do(t, http.MethodPatch, "/"+spec.name+q(k, "not.is.null"), mustJSON(t, spec.patch(acmeRows)),
					preferRepr+", tx=rollback")
				r.requireStatus(t, http.StatusOK)
				ownRows(t, r)
				unchanged(t)
			})
			t.Run("delete another tenant's row", func(t *testing.T) {
				r := a.do(t, http.MethodDelete, path+pkQuery(spec, theirs), "")
				r.requireStatus(t, http.StatusNoContent)
				r = a.do(t, http.MethodDelete, path+pkQuery(spec, theirs), "", preferRepr+", count=exact")
				r.requireStatus(t, http.StatusOK)
				assert.Equal(t, "[]", string(r.Body))
				assert.Equal(t, "*/0", r.Header.Get("Content-Range"))
				r = a.do(t, http.MethodDelete, path+pkQuery(spec, theirs), "", acceptObject)
				r.requireStatus(t, http.StatusNotAcceptable)
				unchanged(t)
			})
			t.Run("another tenant's key answers as a key that exists nowhere", func(t *testing.T) {
				nowhere := map[string]any{}
				for _, k := range spec.pk {
					nowhere[k] = "00000000-0000-4000-8000-00000000dead"
				}
				body := mustJSON(t, spec.patch(acmeRows))
				for _, tc := range []struct {
					method, body string
					headers      []string
				}{
					{http.MethodGet, "", nil},
					{http.MethodGet, "", []string{acceptObject}},
					{http.MethodHead, "", []string{"Prefer: count=exact"}},
					{http.MethodPatch, body, []string{preferRepr + ", count=exact"}},
					{http.MethodPatch, body, []string{acceptObject}},
					{http.MethodDelete, "", []string{preferRepr + ", count=exact"}},
					{http.MethodDelete, "", nil},
				} {
					got := a.do(t, tc.method, path+pkQuery(spec, theirs), tc.body, tc.headers...)
					want := a.do(t, tc.method, path+pkQuery(spec, nowhere), tc.body, tc.headers...)
					assert.Equal(t, want.Status, got.Status, "%s %v", tc.method, tc.headers)
					assert.Equal(t, string(want.Body), string(got.Body), "%s %v", tc.method, tc.headers)
					assert.Equal(t, headerNames(want.Header), headerNames(got.Header), "%s %v", tc.method, tc.headers)
					assert.Equal(t, want.Header.Get("Content-Range"), got.Header.Get("Content-Range"))
				}
				unchanged(t)
			})
			t.Run("delete every visible row, rolled back", func(t *testing.T) {
				r := a.do(t, http.MethodDelete, path+q(spec.pk[0], "not.is.null"), "", preferRepr+", tx=rollback")
				if r.Status == http.StatusConflict {
					// ON DELETE RESTRICT (object_storage_objectinstance): the
					// referencing rows are acme's own.
					assert.Equal(t, "23503", r.error(t).Code)
				} else {
					r.requireStatus(t, http.StatusOK)
					ownRows(t, r)
				}
				unchanged(t)
			})
			t.Run("insert with another tenant's id", func(t *testing.T) {
				before := s.snapshot(t, spec.name)
				row := spec.row(t, a, acmeRows, 100+i)
				row["tenant_id"] = s.globex.ID
				r := a.do(t, http.MethodPost, path, mustJSON(t, row), preferRepr)
				r.requireStatus(t, http.StatusForbidden)
				assert.Equal(t, "PGT020", r.error(t).Code)
				assert.Equal(t, before, s.snapshot(t, spec.name), "nothing written")
			})
			t.Run("bulk insert with another tenant's id in one row", func(t *testing.T) {
				before := s.snapshot(t, spec.name)
				own := spec.row(t, a, acmeRows, 200+i)
				own["tenant_id"] = s.acme.ID
				foreign := spec.row(t, a, acmeRows, 300+i)
				foreign["tenant_id"] = s.globex.ID
				r := a.do(t, http.MethodPost, path, mustJSON(t, []any{own, foreign}))
				r.requireStatus(t, http.StatusForbidden)
				assert.Equal(t, "PGT020", r.error(t).Code)
				assert.Equal(t, before, s.snapshot(t, spec.name), "nothing written")
			})
			t.Run("insert with a tenant id that is not a string", func(t *testing.T) {
				before := s.snapshot(t, spec.name)
				row := spec.row(t, a, acmeRows, 400+i)
				row["tenant_id"] = nil
				r := a.do(t, http.MethodPost, path, mustJSON(t, row))
				r.requireStatus(t, http.StatusForbidden)
				assert.Equal(t, before, s.snapshot(t, spec.name), "nothing written")
			})
			t.Run("insert with the tenant column twice, in either order", func(t *testing.T) {
				before := s.snapshot(t, spec.name)
				rest := mustJSON(t, spec.row(t, a, acmeRows, 450+i))[1:]
				for _, pair := range [][2]string{{s.globex.ID, s.acme.ID}, {s.acme.ID, s.globex.ID}} {
					body := fmt.Sprintf(`{"tenant_id":%q,"tenant_id":%q,`, pair[0], pair[1]) + rest
					r := a.do(t, http.MethodPost, path, body, preferRepr)
					r.requireStatus(t, http.StatusBadRequest)
					e := r.error(t)
					assert.Equal(t, "PGRST102", e.Code)
					assert.Contains(t, e.Message, `duplicate key "tenant_id"`)
				}
				assert.Equal(t, before, s.snapshot(t, spec.name), "nothing written")
			})
			t.Run("insert with own tenant id is accepted", func(t *testing.T) {
				row := spec.row(t, a, acmeRows, 500+i)
				row["tenant_id"] = strings.ToUpper(s.acme.ID)
				got := a.insertOne(t, spec.name, row)
				assert.Equal(t, s.acme.ID, got["tenant_id"])
			})
			t.Run("upsert on another tenant's key", func(t *testing.T) {
				row := spec.row(t, a, acmeRows, 600+i)
				for _, k := range spec.pk {
					row[k] = theirs[k]
				}
				for _, res := range []string{"merge-duplicates", "ignore-duplicates"} {
					r := a.do(t, http.MethodPost, path, mustJSON(t, row), "Prefer: return=representation, resolution="+res,
						"Prefer: tx=rollback")
					assert.Less(t, r.Status, 500, "body %s", r.Body)
					assert.NotContains(t, string(r.Body), s.globex.ID)
					if r.Status < 300 {
						ownRows(t, r)
					}
					unchanged(t)
				}
			})
			t.Run("patch sets the tenant column", func(t *testing.T) {
				before := s.snapshot(t, spec.name)
				body := spec.patch(acmeRows)
				body["tenant_id"] = s.globex.ID
				r := a.do(t, http.MethodPatch, path+pkQuery(spec, mine), mustJSON(t, body))
				r.requireStatus(t, http.StatusForbidden)
				assert.Equal(t, "PGT020", r.error(t).Code)
				assert.Equal(t, before, s.snapshot(t, spec.name), "nothing written")
				// Its own id is dropped: the row stays acme's.
				body["tenant_id"] = s.acme.ID
				r = a.do(t, http.MethodPatch, path+pkQuery(spec, mine), mustJSON(t, body), preferRepr+", tx=rollback")
				r.requireStatus(t, http.StatusOK)
				ownRows(t, r)
			})
			t.Run("globex still sees its row", func(t *testing.T) {
				r := g.get(t, path+pkQuery(spec, theirs), acceptObject).requireStatus(t, http.StatusOK)
				assert.Equal(t, s.globex.ID, r.object(t)["tenant_id"])
			})
		})
	}

	t.Run("openapi", func(t *testing.T) {
		both := func(tn string) response { return s.as(s.tokBoth, tn).get(t, "/").requireStatus(t, http.StatusOK) }
		acmeDoc, globexDoc := both("acme"), both("globex")
		assert.Equal(t, acmeDoc.Body, globexDoc.Body, "the document holds nothing of a tenant")
		for _, id := range []string{s.acme.ID, s.globex.ID, "acme", "globex"} {
			assert.NotContains(t, string(acmeDoc.Body), id)
		}
		r := s.as(s.tokAcme, "globex").get(t, "/").requireStatus(t, http.StatusForbidden)
		table := s.as(s.tokAcme, "globex").get(t, "/webpages_webpage").requireStatus(t, http.StatusForbidden)
		assert.Equal(t, table.Body, r.Body)
	})
}

// randomUUID is a version 4 UUID in its text form.
func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// TestIsolation_DerivedSpecs runs derivedSpecs, the path TestIsolation takes for a tenant table added to
// policies.hcl later, on every tenant table of today's declaration: each derives, and writes and patches a row of
// its own tenant through the API.
func TestIsolation_DerivedSpecs(t *testing.T) {
	s := newServer(t)
	a := s.acmeApp()
	rs := rowSet{}
	derived := derivedSpecs(t, s.model, nil)
	require.Len(t, derived, len(tenantTables), "one for every tenant table")
	for i, spec := range derived {
		rs[spec.name] = a.insertOne(t, spec.name, spec.row(t, a, rs, 900+i))
		assert.Equal(t, s.acme.ID, rs[spec.name]["tenant_id"], "table %s", spec.name)
		r := a.do(t, http.MethodPatch, "/"+spec.name+pkQuery(spec, rs[spec.name]), mustJSON(t, spec.patch(rs)), preferRepr)
		r.requireStatus(t, http.StatusOK)
		assert.Len(t, r.rows(t), 1, "table %s: the patch reaches the row", spec.name)
	}
}

// TestIsolation_Routines covers every declared view and function: read or called by acme's app token and by
// acme's reader token, none answers with a row of globex (its ids, its titles), and none changes globex's pages,
// even when its arguments name globex's rows. A function's arguments are made from their types (argumentValues);
// a type with no rule there fails the test, so a new function cannot go uncovered.
func TestIsolation_Routines(t *testing.T) {
	s := newServer(t)
	a, g := s.acmeApp(), s.globexApp()
	a.seed(t, "Acme")
	theirs := g.seed(t, "Globex")
	before := s.snapshotWhere(t, "webpages_webpage", "tenant_id = $1", s.globex.ID)
	require.NotEmpty(t, s.model.Views, "policies.hcl declares views")
	require.NotEmpty(t, s.model.Functions, "policies.hcl declares functions")
	var markers []string
	for _, id := range theirs.pages {
		markers = append(markers, id)
	}
	markers = append(markers, "Globex", s.globex.ID, theirs.namespace, theirs.theme)
	// noGlobex: r holds nothing of globex's but what the request sent (an error may quote an argument).
	noGlobex := func(t *testing.T, r response, sent ...any) {
		t.Helper()
		require.Less(t, r.Status, 500, "%s", r.Body)
		for _, m := range markers {
			if !slices.Contains(sent, any(m)) {
				assert.NotContains(t, string(r.Body), m, "globex's data came back")
			}
		}
	}
	callers := map[string]client{"app": a, "reader": s.reader()}

	for _, v := range s.model.Views {
		for who, c := range callers {
			t.Run(v.Name+"/"+who, func(t *testing.T) {
				r := c.get(t, "/"+v.Name).requireStatus(t, http.StatusOK)
				require.NotEmpty(t, r.rows(t), "acme's rows are visible: an empty answer would prove nothing")
				noGlobex(t, r)
				r = c.get(t, "/"+v.Name, "Prefer: count=exact", "Accept: text/csv")
				noGlobex(t, r)
			})
		}
	}
	// Every relationship inferred for a view, embedded (plain and !inner): acme's rows embed acme's rows only.
	viewRels := query.ViewRelationships(s.model)
	require.NotEmpty(t, viewRels, "published_pages exposes namespace_id")
	for _, rel := range viewRels {
		for who, c := range callers {
			t.Run(rel.Table+"→"+rel.Target+"/"+who, func(t *testing.T) {
				for _, sel := range []string{"*," + rel.Target + "(*)", "*," + rel.Target + "!inner(*)"} {
					r := c.get(t, "/"+rel.Table+q("select", sel)).requireStatus(t, http.StatusOK)
					require.NotEmpty(t, r.rows(t))
					for _, row := range r.rows(t) {
						require.NotNil(t, row[rel.Target], "acme's row embeds acme's %s: %v", rel.Target, row)
					}
					noGlobex(t, r)
				}
			})
		}
	}
	for _, f := range s.model.Functions {
		for who, c := range callers {
			t.Run("rpc/"+f.Name+"/"+who, func(t *testing.T) {
				for _, args := range argumentValues(t, f, theirs) {
					var sent []any
					for _, v := range args {
						sent = append(sent, v)
					}
					r := c.do(t, http.MethodPost, "/rpc/"+f.Name, mustJSON(t, args))
					noGlobex(t, r, sent...)
					if f.Volatility != schema.Volatile {
						qs := []string{}
						for k, v := range args {
							qs = append(qs, k, fmt.Sprint(v))
						}
						noGlobex(t, c.get(t, "/rpc/"+f.Name+q(qs...)), sent...)
					}
				}
			})
		}
	}
	assert.Equal(t, before, s.snapshotWhere(t, "webpages_webpage", "tenant_id = $1", s.globex.ID), "globex's pages changed")
}

// argumentValues are the argument sets TestIsolation_Routines calls f with: text matches everything (""), a uuid
// names each of globex's pages.
func argumentValues(t *testing.T, f *schema.Function, theirs site) []map[string]any {
	sets := []map[string]any{{}}
	for _, a := range f.Args {
		var values []any
		switch a.Type {
		case "text", "character varying":
			values = []any{"", "e"}
		case "uuid":
			for _, id := range theirs.pages {
				values = append(values, id)
			}
		default:
			t.Fatalf("function %s: no test value for an argument of type %s: add one to argumentValues", f.Name, a.Type)
		}
		var next []map[string]any
		for _, set := range sets {
			for _, v := range values {
				n := map[string]any{a.Name: v}
				for k, x := range set {
					n[k] = x
				}
				next = append(next, n)
			}
		}
		sets = next
	}
	return sets
}

// embedSweep requests, as c, every relationship of rels embedded in its table: alone, with !inner, nested one
// level further along every relationship of the embedded table (plain and !inner), and filtered on the tenant
// column to the other tenant's id (with !inner: no parent may remain). Every answer must be 200 (or, for a
// role that may not read a table, PostgREST's 4xx for a missing privilege), hold no value of foreign.text
// anywhere (the other tenant's ids), no object whose tenant column is not own and none whose id is one of
// foreign.ids (the other tenant's rows, also those that planted references name: their ids may appear as the
// referencing column's value, never as a row). It returns how many answers held rows.
func embedSweep(t *testing.T, c client, m *schema.Model, own, other string, foreign foreignValues) int {
	t.Helper()
	tenantCol := m.Tenancy.Column
	rels := query.ModelRelationships(m)
	from := map[string][]query.Relationship{}
	for _, r := range rels {
		from[r.Table] = append(from[r.Table], r)
	}
	// embed spells the embed of r under alias, picking r alone: by its constraint (or junction); a
	// self-reference as PostgREST tells its two directions apart: the column for the parent, the table and a
	// column hint for the children.
	embed := func(alias string, r query.Relationship) string {
		switch {
		case r.Junction != nil:
			return alias + ":" + r.Target + "!" + r.Junction.Table
		case r.Table == r.Target && r.Kind == query.ManyToOne:
			return alias + ":" + r.Columns[0]
		case r.Table == r.Target:
			return alias + ":" + r.Target + "!" + r.TargetColumns[0]
		}
		return alias + ":" + r.Target + "!" + r.Constraint
	}
	tenantTable := func(name string) bool { return !m.Table(name).Shared }
	nonEmpty := 0
	check := func(t *testing.T, path string, wantEmpty bool) {
		t.Helper()
		r := c.get(t, path)
		if r.Status == http.StatusForbidden || r.Status == http.StatusUnauthorized {
			assert.NotContains(t, string(r.Body), other, path)
			return
		}
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", path, r.Body)
		body := string(r.Body)
		assert.NotContains(t, body, other, "%s: the other tenant's id", path)
		for _, v := range foreign.text {
			require.NotContains(t, body, v, "%s: a value of the other tenant's rows", path)
		}
		var doc any
		require.NoError(t, json.Unmarshal(r.Body, &doc))
		walkObjects(doc, func(o map[string]any) {
			if v, ok := o[tenantCol]; ok {
				assert.Equal(t, own, v, "%s: an object of another tenant: %v", path, o)
			}
			if id, ok := o["id"].(string); ok {
				assert.NotContains(t, foreign.ids, id, "%s: a row of another tenant: %v", path, o)
			}
		})
		if wantEmpty {
			assert.Equal(t, "[]", body, path)
		}
		if body != "[]" {
			nonEmpty++
		}
	}
	for _, r := range rels {
		e := embed("x", r)
		t.Run(r.Table+"/"+e, func(t *testing.T) {
			base := "/" + r.Table
			check(t, base+q("select", "*,"+e+"(*)"), false)
			check(t, base+q("select", "*,"+e+"!inner(*)"), false)
			if tenantTable(r.Target) {
				// The other tenant's rows by their tenant column: there are none to embed.
				check(t, base+q("select", "*,"+e+"!inner(*)", "x."+tenantCol, "eq."+other), true)
				check(t, base+q("select", "*,"+e+"(*)", "x.or", "("+tenantCol+".eq."+other+","+tenantCol+".is.null)"), false)
			}
			for _, r2 := range from[r.Target] {
				e2 := embed("y", r2)
				check(t, base+q("select", "*,"+e+"(*,"+e2+"(*))"), false)
				check(t, base+q("select", "*,"+e+"!inner(*,"+e2+"!inner(*))"), false)
				if tenantTable(r2.Target) {
					check(t, base+q("select", "*,"+e+"!inner(*,"+e2+"!inner(*))", "x.y."+tenantCol, "eq."+other), true)
				}
			}
		})
	}
	return nonEmpty
}

// foreignValues are what embedSweep must never find of the other tenant.
type foreignValues struct {
	text []string // anywhere in a body
	ids  []string // as the id of an object
}

// newForeignValues are the values of the other tenant's rows: none may appear anywhere, except those named by
// planted references (the referencing rows hold them as values), which may never appear as a row's id.
func newForeignValues(rows rowSet, planted ...any) foreignValues {
	all := uuidValues(rows)
	f := foreignValues{ids: all}
	for _, v := range all {
		if !slices.Contains(planted, any(v)) {
			f.text = append(f.text, v)
		}
	}
	return f
}

// walkObjects calls fn for every JSON object in v, nested ones included.
func walkObjects(v any, fn func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(v)
		for _, x := range v {
			walkObjects(x, fn)
		}
	case []any:
		for _, x := range v {
			walkObjects(x, fn)
		}
	}
}

// uuidValues returns every UUID-looking string value of rows: the ids of one tenant's rows and their references.
func uuidValues(rows rowSet) []string {
	var out []string
	for _, row := range rows {
		for _, v := range row {
			if s, ok := v.(string); ok && len(s) == 36 && strings.Count(s, "-") == 4 {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// plant inserts rows as the superuser with foreign key checks off (session_replication_role = replica), as an
// owner bypassing the API could: references from one tenant's rows to another's, which no API write can make.
func (e *env) plant(t *testing.T, statements ...string) {
	t.Helper()
	tx, err := e.admin.Begin(t.Context())
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(t.Context()) }()
	for _, s := range append([]string{"SET LOCAL session_replication_role = replica"}, statements...) {
		_, err := tx.Exec(t.Context(), s)
		require.NoError(t, err, s)
	}
	require.NoError(t, tx.Commit(t.Context()))
}

// TestIsolation_Embeds follows every relationship of policies.hcl, as acme's app token and acme's reader token,
// with globex's rows in every table and references planted from acme's rows to globex's: nothing of globex
// appears in any embed, through any relationship kind, !inner, nested embeds or filters on them.
func TestIsolation_Embeds(t *testing.T) {
	s := newServer(t)
	a, g := s.acmeApp(), s.globexApp()
	tables := specs(t, s.model)
	acmeRows, globexRows := seedTables(t, a, tables), seedTables(t, g, tables)
	// A language both tenants' namespaces name, so that the shared table's embeds have rows to leave out.
	_, err := s.admin.Exec(t.Context(), `INSERT INTO content_language (code, name) VALUES ('zz', 'Test') ON CONFLICT DO NOTHING`)
	require.NoError(t, err)
	for _, c := range []client{a, g} {
		c.do(t, http.MethodPatch, "/content_namespace"+q("id", "not.is.null"), `{"language_code":"zz"}`).
			requireStatus(t, http.StatusNoContent)
	}
	acmeID, globexID := s.acme.ID, s.globex.ID
	planted := randomUUID()
	s.plant(t,
		// An acme page on globex's theme, category, hero media and namespace; an acme link to a globex tag; an
		// acme tag in globex's namespace.
		fmt.Sprintf(`INSERT INTO webpages_webpage (tenant_id, id, namespace_id, category_id, theme_id, hero_media_id, slug,
			title, is_published, published_at) VALUES ('%s', '%s', '%s', '%s', '%s', '%s', 'planted', 'Planted', true, now())`, acmeID, planted,
			globexRows.id("content_namespace"), globexRows.id("content_category"), globexRows.id("webpages_pagetheme"),
			globexRows.id("file_manager_mediafile")),
		fmt.Sprintf(`INSERT INTO webpages_webpage_tags (tenant_id, webpage_id, tag_id) VALUES ('%s', '%s', '%s'), ('%s', '%s', '%s')`,
			acmeID, planted, globexRows.id("content_tag"), acmeID, acmeRows.id("webpages_webpage"), globexRows.id("content_tag")),
		fmt.Sprintf(`INSERT INTO content_tag (tenant_id, id, namespace_id, slug, name) VALUES ('%s', '%s', '%s', 'planted', 'Planted')`,
			acmeID, randomUUID(), globexRows.id("content_namespace")),
	)
	foreign := newForeignValues(globexRows, globexRows.id("content_namespace"), globexRows.id("content_category"),
		globexRows.id("webpages_pagetheme"), globexRows.id("file_manager_mediafile"), globexRows.id("content_tag"))
	rels := query.ModelRelationships(s.model)
	kinds := map[query.Cardinality]bool{}
	for _, r := range rels {
		kinds[r.Kind] = true
	}
	for _, k := range []query.Cardinality{query.ManyToOne, query.OneToMany, query.ManyToMany} {
		assert.True(t, kinds[k], "policies.hcl has a %s relationship", k)
	}

	t.Run("app", func(t *testing.T) {
		n := embedSweep(t, a, s.model, acmeID, globexID, foreign)
		assert.Greater(t, n, len(rels), "most answers hold rows: the sweep proves something")
	})
	t.Run("reader", func(t *testing.T) {
		embedSweep(t, s.reader(), s.model, acmeID, globexID, foreign)
	})
	t.Run("the planted references embed nothing", func(t *testing.T) {
		r := a.get(t, "/webpages_webpage"+q("select",
			"slug,webpages_pagetheme(*),content_category(*),file_manager_mediafile(*),content_namespace(*),content_tag(*)",
			"id", "eq."+planted), acceptObject).requireStatus(t, http.StatusOK)
		assert.JSONEq(t, `{"slug":"planted","webpages_pagetheme":null,"content_category":null,"file_manager_mediafile":null,
			"content_namespace":null,"content_tag":[]}`, string(r.Body))
		r = a.get(t, "/webpages_webpage"+q("select", "slug,webpages_pagetheme!inner(name)", "id", "eq."+planted))
		assert.Equal(t, "[]", string(r.requireStatus(t, http.StatusOK).Body))
	})
	t.Run("globex sees its own embeds", func(t *testing.T) {
		r := g.get(t, "/webpages_webpage"+q("select", "id,webpages_pagetheme(id),content_tag(id)")).requireStatus(t, http.StatusOK)
		rows := r.rows(t)
		require.Len(t, rows, 1)
		assert.Equal(t, globexRows.id("webpages_pagetheme"), rows[0]["webpages_pagetheme"].(map[string]any)["id"])
	})
}
