package query_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/query"
)

// TestRelationships derives relationships from foreign keys as a catalog
// reader gives them (the tenant column leading both sides between tenant
// tables) and as the declaration spells them (without it): both give the
// same relationships, joined on the tenant column where both tables carry it.
func TestRelationships(t *testing.T) {
	tables := []query.TableKeys{
		{Name: "page", PrimaryKey: []string{"tenant_id", "id"}},
		{Name: "theme", PrimaryKey: []string{"tenant_id", "id"}},
		{Name: "tag", PrimaryKey: []string{"id"}},
		{Name: "page_tags", PrimaryKey: []string{"tenant_id", "page_id", "tag_id"}},
		{Name: "language", PrimaryKey: []string{"code"}, Shared: true},
		{Name: "log", PrimaryKey: []string{"id"}}, // two foreign keys, not both in its key: no junction
		{Name: "profile", PrimaryKey: []string{"id"}, Unique: [][]string{{"tenant_id", "page_id"}}},
	}
	catalog := []query.ForeignKey{
		{Name: "page_theme_id_fkey", Table: "page", Columns: []string{"tenant_id", "theme_id"}, RefTable: "theme",
			RefColumns: []string{"tenant_id", "id"}},
		{Name: "page_tenant_id_fkey", Table: "page", Columns: []string{"tenant_id"}, RefTable: "tenants",
			RefColumns: []string{"id"}}, // to a table not served: skipped
		{Name: "page_language_fkey", Table: "page", Columns: []string{"lang"}, RefTable: "language",
			RefColumns: []string{"code"}},
		{Name: "page_tags_page_id_fkey", Table: "page_tags", Columns: []string{"tenant_id", "page_id"}, RefTable: "page",
			RefColumns: []string{"tenant_id", "id"}},
		{Name: "page_tags_tag_id_fkey", Table: "page_tags", Columns: []string{"tenant_id", "tag_id"}, RefTable: "tag",
			RefColumns: []string{"tenant_id", "id"}},
		{Name: "log_page_fkey", Table: "log", Columns: []string{"tenant_id", "page_id"}, RefTable: "page",
			RefColumns: []string{"tenant_id", "id"}},
		{Name: "log_theme_fkey", Table: "log", Columns: []string{"tenant_id", "theme_id"}, RefTable: "theme",
			RefColumns: []string{"tenant_id", "id"}},
		{Name: "profile_page_id_fkey", Table: "profile", Columns: []string{"tenant_id", "page_id"}, RefTable: "page",
			RefColumns: []string{"tenant_id", "id"}},
	}
	declared := make([]query.ForeignKey, len(catalog))
	for i, fk := range catalog {
		declared[i] = fk
		if fk.Columns[0] == "tenant_id" && len(fk.Columns) > 1 {
			declared[i].Columns, declared[i].RefColumns = fk.Columns[1:], fk.RefColumns[1:]
		}
	}
	got := query.Relationships("tenant_id", tables, catalog)
	assert.Equal(t, got, query.Relationships("tenant_id", tables, declared))

	want := []query.Relationship{
		{Kind: query.ManyToOne, Table: "page", Target: "theme", Constraint: "page_theme_id_fkey",
			Columns: []string{"theme_id"}, TargetColumns: []string{"id"}, Tenant: "tenant_id"},
		{Kind: query.OneToMany, Table: "theme", Target: "page", Constraint: "page_theme_id_fkey",
			Columns: []string{"id"}, TargetColumns: []string{"theme_id"}, Tenant: "tenant_id"},
		{Kind: query.ManyToOne, Table: "page", Target: "language", Constraint: "page_language_fkey",
			Columns: []string{"lang"}, TargetColumns: []string{"code"}},
		{Kind: query.OneToMany, Table: "language", Target: "page", Constraint: "page_language_fkey",
			Columns: []string{"code"}, TargetColumns: []string{"lang"}},
	}
	require.GreaterOrEqual(t, len(got), len(want))
	assert.Equal(t, want, got[:len(want)])

	var o2o []query.Relationship
	for _, r := range got {
		if r.Kind == query.OneToOne {
			o2o = append(o2o, r)
		}
	}
	assert.Equal(t, []query.Relationship{
		{Kind: query.OneToOne, Table: "profile", Target: "page", Constraint: "profile_page_id_fkey",
			Columns: []string{"page_id"}, TargetColumns: []string{"id"}, Tenant: "tenant_id"},
		{Kind: query.OneToOne, Table: "page", Target: "profile", Constraint: "profile_page_id_fkey",
			Columns: []string{"id"}, TargetColumns: []string{"page_id"}, Tenant: "tenant_id"},
	}, o2o, "a foreign key over a unique key is one-to-one both ways")

	var m2m []query.Relationship
	for _, r := range got {
		if r.Kind == query.ManyToMany {
			m2m = append(m2m, r)
		}
	}
	assert.Equal(t, []query.Relationship{
		{Kind: query.ManyToMany, Table: "page", Target: "tag", Constraint: "page_tags_page_id_fkey",
			Columns: []string{"id"}, TargetColumns: []string{"id"}, Junction: &query.Junction{Table: "page_tags",
				Constraint: "page_tags_page_id_fkey", Columns: []string{"page_id"},
				TargetConstraint: "page_tags_tag_id_fkey", TargetColumns: []string{"tag_id"},
				TableTenant: "tenant_id", TargetTenant: "tenant_id"}},
		{Kind: query.ManyToMany, Table: "tag", Target: "page", Constraint: "page_tags_tag_id_fkey",
			Columns: []string{"id"}, TargetColumns: []string{"id"}, Junction: &query.Junction{Table: "page_tags",
				Constraint: "page_tags_tag_id_fkey", Columns: []string{"tag_id"},
				TargetConstraint: "page_tags_page_id_fkey", TargetColumns: []string{"page_id"},
				TableTenant: "tenant_id", TargetTenant: "tenant_id"}},
	}, m2m, "log is no junction: its foreign keys are not part of its primary key")
}

// TestModelRelationships: the repository's declaration has the junction
// webpages_webpage_tags between pages and tags, and a self-reference on
// categories.
func TestModelRelationships(t *testing.T) {
	rels := query.ModelRelationships(model(t, ""))
	has := func(kind query.Cardinality, from, to string) bool {
		for _, r := range rels {
			if r.Kind == kind && r.Table == from && r.Target == to {
				return true
			}
		}
		return false
	}
	assert.True(t, has(query.ManyToOne, "webpages_webpage", "webpages_pagetheme"))
	assert.True(t, has(query.OneToMany, "content_namespace", "webpages_webpage"))
	assert.True(t, has(query.ManyToMany, "webpages_webpage", "content_tag"))
	assert.True(t, has(query.ManyToMany, "content_tag", "webpages_webpage"))
	assert.True(t, has(query.ManyToOne, "content_category", "content_category"))
	assert.True(t, has(query.OneToMany, "content_category", "content_category"))
	assert.True(t, has(query.ManyToOne, "content_namespace", "content_language"))
	assert.False(t, has(query.ManyToMany, "webpages_webpage", "content_namespace"))
}

// TestParse_EmbedErrors: embeddings the model cannot serve are refused
// before any query runs, with PostgREST's code, status and texts.
func TestParse_EmbedErrors(t *testing.T) {
	m := model(t, "")
	tests := []struct {
		name, table, query string
		code               string
		status             int
		message            string
		details            any
		hint               string // "" for none
	}{
		{name: "no relationship, close name", query: "select=*,webpages_pagethem(name)", code: "PGRST200", status: 400,
			message: "Could not find a relationship between 'webpages_webpage' and 'webpages_pagethem' in the schema cache",
			details: "Searched for a foreign key relationship between 'webpages_webpage' and 'webpages_pagethem' in the schema 'public', but no matches were found.",
			hint:    "Perhaps you meant 'webpages_pagetheme' instead of 'webpages_pagethem'."},
		{name: "no relationship", query: "select=*,object_storage_objectinstance(id)", code: "PGRST200", status: 400,
			message: "Could not find a relationship between 'webpages_webpage' and 'object_storage_objectinstance' in the schema cache",
			details: "Searched for a foreign key relationship between 'webpages_webpage' and 'object_storage_objectinstance' in the schema 'public', but no matches were found."},
		{name: "hint matches nothing", query: "select=*,webpages_pagetheme!nope(name)", code: "PGRST200", status: 400,
			message: "Could not find a relationship between 'webpages_webpage' and 'webpages_pagetheme' in the schema cache",
			details: "Searched for a foreign key relationship between 'webpages_webpage' and 'webpages_pagetheme' using the hint 'nope' in the schema 'public', but no matches were found."},
		{name: "filter on an embed not selected", query: "select=id&webpages_pagetheme.name=eq.x", code: "PGRST108",
			status: 400, message: "'webpages_pagetheme' is not an embedded resource in this request",
			hint: "Verify that 'webpages_pagetheme' is included in the 'select' query parameter."},
		{name: "order of an embed not selected", query: "select=id&content_tag.order=name", code: "PGRST108", status: 400,
			message: "'content_tag' is not an embedded resource in this request",
			hint:    "Verify that 'content_tag' is included in the 'select' query parameter."},
		{name: "nested path not selected", query: "select=id,webpages_pagetheme(name)&webpages_pagetheme.webpages_webpage.limit=1",
			code: "PGRST108", status: 400, message: "'webpages_webpage' is not an embedded resource in this request",
			hint: "Verify that 'webpages_webpage' is included in the 'select' query parameter."},
		{name: "related order not selected", query: "select=id&order=webpages_pagetheme(name)", code: "PGRST108",
			status: 400, message: "'webpages_pagetheme' is not an embedded resource in this request",
			hint: "Verify that 'webpages_pagetheme' is included in the 'select' query parameter."},
		{name: "related order on to-many", query: "select=id,content_tag(name)&order=content_tag(name)", code: "PGRST118",
			status: 400, message: "A related order on 'content_tag' is not possible",
			details: "'webpages_webpage' and 'content_tag' do not form a many-to-one or one-to-one relationship"},
		{name: "spread of to-many", query: "select=id,...content_tag(name)", code: "PGRST119", status: 400,
			message: "A spread operation on 'content_tag' is not possible",
			details: "'webpages_webpage' and 'content_tag' do not form a many-to-one or one-to-one relationship"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			table := tt.table
			if table == "" {
				table = "webpages_webpage"
			}
			_, err = query.Parse(query.Request{Model: m, Table: m.Table(table), Method: "GET", Params: params,
				Tenant: testTenant})
			ee, ok := errors.AsType[*query.EmbedError](err)
			require.True(t, ok, "want *EmbedError, got %v", err)
			assert.ErrorIs(t, err, query.ErrEmbedding)
			assert.Equal(t, tt.code, ee.Code)
			assert.Equal(t, tt.status, ee.Status)
			assert.Equal(t, tt.message, ee.Message)
			assert.Equal(t, tt.details, ee.Details)
			if tt.hint == "" {
				assert.Nil(t, ee.Hint)
			} else if assert.NotNil(t, ee.Hint) {
				assert.Equal(t, tt.hint, *ee.Hint)
			}
		})
	}
}

// TestParse_EmbedHints: the '!' hint picks a relationship by constraint,
// by column or by junction table, and an embed may be named by a foreign
// key's column or constraint, as PostgREST's; a self-reference is the
// children by the table's name, the parent by the column's.
func TestParse_EmbedHints(t *testing.T) {
	m := model(t, "")
	for _, tt := range []struct{ table, sel string }{
		{"webpages_webpage", "webpages_pagetheme!webpages_webpage_theme_id_fkey(name)"},
		{"webpages_webpage", "webpages_pagetheme!theme_id(name)"},
		{"webpages_webpage", "content_tag!webpages_webpage_tags(name)"},
		{"webpages_webpage", "webpages_pagetheme!id(name)"},
		{"webpages_webpage", "theme_id(name)"},
		{"webpages_webpage", "webpages_webpage_theme_id_fkey(name)"},
		{"content_category", "content_category(name)"},
		{"content_category", "parent_id(name)"},
		{"content_category", "content_category!parent_id!inner(name)"},
		{"content_namespace", "webpages_webpage!namespace_id(slug)"},
	} {
		_, err := query.Parse(query.Request{Model: m, Table: m.Table(tt.table), Method: "GET",
			Params: url.Values{"select": {tt.sel}}, Tenant: testTenant})
		assert.NoError(t, err, tt.sel)
	}
}

// TestParse_EmbedAmbiguousForeignKeys: two foreign keys from invoice to
// customer make customer(…) ambiguous (PGRST201, status 300), each
// candidate listed with the hint that picks it.
func TestParse_EmbedAmbiguousForeignKeys(t *testing.T) {
	m := model(t, "shop")
	_, err := query.Parse(query.Request{Model: m, Table: m.Table("invoice"), Method: "GET",
		Params: url.Values{"select": {"id,customer(name)"}}, Tenant: testTenant})
	ee, ok := errors.AsType[*query.EmbedError](err)
	require.True(t, ok, "want *EmbedError, got %v", err)
	assert.Equal(t, "PGRST201", ee.Code)
	assert.Equal(t, 300, ee.Status)
	assert.Equal(t, []query.RelationshipDetail{
		{Cardinality: "many-to-one", Embedding: "invoice with customer",
			Relationship: "invoice_billed_to_id_fkey using invoice(billed_to_id) and customer(id)"},
		{Cardinality: "many-to-one", Embedding: "invoice with customer",
			Relationship: "invoice_shipped_to_id_fkey using invoice(shipped_to_id) and customer(id)"},
	}, ee.Details)
	require.NotNil(t, ee.Hint)
	assert.Equal(t, "Try changing 'customer' to one of the following: 'customer!invoice_billed_to_id_fkey', "+
		"'customer!invoice_shipped_to_id_fkey'. Find the desired relationship in the 'details' key.", *ee.Hint)
}

// TestParse_EmbedSelfReference: the hint of a self-reference names the
// children's foreign key column; naming the parent's key is no relationship.
func TestParse_EmbedSelfReference(t *testing.T) {
	m := model(t, "")
	_, err := query.Parse(query.Request{Model: m, Table: m.Table("content_category"), Method: "GET",
		Params: url.Values{"select": {"content_category!id(name)"}}, Tenant: testTenant})
	ee, ok := errors.AsType[*query.EmbedError](err)
	require.True(t, ok, "want *EmbedError, got %v", err)
	assert.Equal(t, "PGRST200", ee.Code)
}
