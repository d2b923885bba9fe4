package backup

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/schema"
)

func table(name string, refs ...string) *schema.Table {
	t := &schema.Table{Name: name, PrimaryKey: &schema.PrimaryKey{Columns: []string{"id"}},
		Columns: []*schema.Column{{Name: "id", Type: "uuid"}}}
	for _, r := range refs {
		t.ForeignKeys = append(t.ForeignKeys, &schema.ForeignKey{Name: name + "_" + r, Columns: []string{r + "_id"},
			RefTable: r, RefColumns: []string{"id"}})
	}
	return t
}

func names(ts []*schema.Table) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func TestOrder(t *testing.T) {
	shared := table("lang")
	shared.Shared = true
	m := &schema.Model{Tables: []*schema.Table{
		table("page", "site", "theme", "page"), table("theme"), table("site", "lang"), shared, table("a_tag", "page"),
	}}
	got, err := order(m)
	require.NoError(t, err)
	assert.Equal(t, []string{"site", "theme", "page", "a_tag"}, names(got),
		"referenced tables first, else by name; a self-reference and a shared table do not count")

	m.Tables = append(m.Tables, table("x", "y"), table("y", "x"))
	_, err = order(m)
	assert.ErrorIs(t, err, ErrCycle)
	assert.ErrorContains(t, err, "among x, y")

	noKey := table("nokey")
	noKey.PrimaryKey = nil
	_, err = order(&schema.Model{Tables: []*schema.Table{noKey}})
	assert.ErrorIs(t, err, ErrNoPrimaryKey)
}

func TestOrderBy(t *testing.T) {
	tbl := &schema.Table{Name: "t", PrimaryKey: &schema.PrimaryKey{Columns: []string{"ns", "slug", "n", "code", "order"}},
		Columns: []*schema.Column{{Name: "ns", Type: "uuid"}, {Name: "slug", Type: "character varying(100)"},
			{Name: "n", Type: "integer"}, {Name: "code", Type: "text"}, {Name: "order", Type: "texture"}}}
	assert.Equal(t, `ns, slug COLLATE "C", n, code COLLATE "C", "order"`, orderBy(tbl))
}

func TestSchemaHash(t *testing.T) {
	m := &schema.Model{Tables: []*schema.Table{table("b", "a"), table("a")}}
	h := SchemaHash(m)
	assert.Len(t, h, 64)
	assert.Equal(t, h, SchemaHash(&schema.Model{Tables: []*schema.Table{table("a"), table("b", "a")}}), "table order does not matter")
	for name, change := range map[string]func(*schema.Model){
		"a type":      func(m *schema.Model) { m.Tables[1].Columns[0].Type = "text" },
		"nullability": func(m *schema.Model) { m.Tables[1].Columns[0].Null = true },
		"a column": func(m *schema.Model) {
			m.Tables[1].Columns = append(m.Tables[1].Columns, &schema.Column{Name: "x", Type: "text"})
		},
		"shared":        func(m *schema.Model) { m.Tables[1].Shared = true },
		"a foreign key": func(m *schema.Model) { m.Tables[0].ForeignKeys = nil },
		"a primary key": func(m *schema.Model) { m.Tables[1].PrimaryKey.Columns = []string{"x"} },
	} {
		m := &schema.Model{Tables: []*schema.Table{table("b", "a"), table("a")}}
		change(m)
		assert.NotEqual(t, h, SchemaHash(m), name)
	}
}

func TestDefaultRole(t *testing.T) {
	m, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors(), diags.Error())
	role, err := DefaultRole(m, schema.Select)
	require.NoError(t, err)
	assert.Equal(t, "app", role, "reader holds SELECT, but policies narrow what it sees")
	role, err = DefaultRole(m, schema.Select, schema.Insert, schema.Delete)
	require.NoError(t, err)
	assert.Equal(t, "app", role)
	assert.Empty(t, Narrowing(m, "app"))
	assert.ElementsMatch(t, []string{"webpage_published_only", "mediafile_published_only"}, Narrowing(m, "reader"))

	m.Roles = m.Roles[1:] // reader alone
	_, err = DefaultRole(m, schema.Select)
	assert.ErrorIs(t, err, ErrNoRole)
	m.Policies = append(m.Policies, &schema.Policy{Name: "everyone", As: schema.Permissive})
	assert.Len(t, Narrowing(m, "reader"), 2, "a permissive policy only widens")
	m.Policies = append(m.Policies, &schema.Policy{Name: "everyone_narrowed", As: schema.Restrictive})
	assert.Contains(t, Narrowing(m, "app"), "everyone_narrowed", "a policy without `to` applies to every role")
}
