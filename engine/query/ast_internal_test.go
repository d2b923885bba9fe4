package query

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/schema"
)

// weirdTable has the column names that need quoting in both grammars: the
// request's ("…" names) and SQL's (ddl.Ident).
func weirdTable() *table {
	m := &schema.Model{Tenancy: schema.DefaultTenancy, Tables: []*schema.Table{{Name: "Weird Table", Columns: []*schema.Column{
		{Name: "my col", Type: "text"}, {Name: `We"ird`, Type: "jsonb"}, {Name: "a-b", Type: "integer"},
		{Name: "order", Type: "text"}, {Name: "é", Type: "json"},
	}}}}
	return newTable(m, m.Tables[0])
}

// TestString_RoundTrip: printing a parsed select, order or logic tree and
// parsing the text again gives the same value.
func TestString_RoundTrip(t *testing.T) {
	tb := weirdTable()
	selects := []string{
		`*`, ``, `"my col",a-b,"order"`, `x:"We\"ird"->"0"->>-1::integer`, `"a,b":é->k->>"two words"`,
		`"We\"ird"->"a\\b"->2::text`, `tenant_id::uuid,"my col"::varchar`,
	}
	for _, s := range selects {
		got, err := parseSelect(tb, s)
		require.NoError(t, err, s)
		again, err := parseSelect(tb, got.String())
		require.NoError(t, err, got.String())
		assert.Equal(t, got, again, "%s → %s", s, got.String())
	}
	orders := []string{`"my col".desc.nullslast,a-b`, `"We\"ird"->>"0".asc`, ` order.desc `, `é->1.nullsfirst`}
	for _, s := range orders {
		got, err := parseOrder(tb, s)
		require.NoError(t, err, s)
		again, err := parseOrder(tb, got.String())
		require.NoError(t, err, got.String())
		assert.Equal(t, got, again, "%s → %s", s, got.String())
	}
	trees := []struct{ key, value string }{
		{"or", `("my col".eq."a,b)",a-b.in.(1,"2,3",4),"order".like(any).{a*,*b})`},
		{"not.and", `(and(a-b.gt.1,not.or("my col".is.NULL,"my col".eq. spaced )),"We\"ird"->>k.cs.{"x":1})`},
		{"and", `(é->>0.fts(english).cat dog,"my col".eq."",a-b.not.in.())`},
		{"or", `("my col".eq.\,"my col".eq.a"b)`},
	}
	lim := DefaultLimits
	for _, tt := range trees {
		got, err := parseLogic(tb, tt.key, tt.value, lim)
		require.NoError(t, err, tt.value)
		again, err := parseLogic(tb, tt.key, got.treeString(false), lim)
		require.NoError(t, err, got.treeString(false))
		assert.Equal(t, got, again, "%s → %s", tt.value, got.treeString(false))
	}
	filters := []struct{ key, value string }{
		{`"my col"`, `not.like(all).{a,b}`}, {`a-b`, `in.("x,y",z)`}, {`"We\"ird"->a->>0`, `eq.v`},
		{`order`, `isdistinct.(value)`}, {`é`, `phfts.a "b" c`},
	}
	for _, tt := range filters {
		got, err := parseFilter(tb, tt.key, tt.value)
		require.NoError(t, err, tt.value)
		again, err := parseFilter(tb, got.Field.String(), got.opString(false))
		require.NoError(t, err, got.opString(false))
		assert.Equal(t, got, again, "%s=%s → %s=%s", tt.key, tt.value, got.Field.String(), got.opString(false))
	}
}

// TestSQL_QuotesModelNames: names that need quoting reach SQL through
// ddl.Ident only.
func TestSQL_QuotesModelNames(t *testing.T) {
	tb := weirdTable()
	q := &Query{tb: tb, method: "GET", tenant: "t", win: window{Limit: -1}}
	var err error
	q.sel, err = parseSelect(tb, `"my col",a-b,"order"`)
	require.NoError(t, err)
	q.order, err = parseOrder(tb, `"We\"ird"->>k.desc`)
	require.NoError(t, err)
	sql, args := q.SQL()
	assert.Contains(t, sql, `SELECT * FROM public."Weird Table"`)
	assert.Contains(t, sql, `ORDER BY "We""ird" ->> $2::text DESC`)
	assert.Contains(t, sql, `SELECT "my col", "a-b", "order" FROM pgrst_source`)
	assert.Equal(t, []any{"t", "k"}, args)
}
