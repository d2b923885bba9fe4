package schema_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/schema"
)

// routineBase is the declaration the view and function cases add to.
const routineBase = `
role "app"    { privileges = [SELECT, INSERT, UPDATE, DELETE] }
role "reader" { privileges = [SELECT] }
table "page" {
  column "id" { type = uuid }
  column "title" { type = varchar(200) }
  column "is_published" { type = boolean }
  primary_key { columns = [column.id] }
}
view "published_pages" {
  to    = [role.app, role.reader]
  query = "SELECT id, title FROM page WHERE is_published"
  column "id"    { type = uuid }
  column "title" { type = varchar(200) }
}
`

func parseRoutines(t *testing.T, src string) *schema.Model {
	t.Helper()
	m, _, diags := schema.Parse(schema.Source{Filename: "routines.hcl", Bytes: []byte(routineBase + src)})
	require.False(t, diags.HasErrors(), describe(diags))
	return m
}

func TestParse_Views(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want schema.View
	}{
		{
			name: "heredoc query with comment and options left at their defaults",
			in: `view "titles" {
  comment = "Titles."
  to      = [role.reader]
  query   = <<-SQL
    SELECT p.title FROM page p
  SQL
  column "title" {
    type    = varchar(200)
    comment = "The title."
  }
}`,
			want: schema.View{Name: "titles", Comment: "Titles.", Query: "SELECT p.title FROM page p\n",
				Columns: []*schema.ViewColumn{{Name: "title", Type: "varchar(200)", Comment: "The title."}},
				To:      []string{"reader"}},
		},
		{
			name: "sql() query, security options said explicitly",
			in: `view "ids" {
  to               = [role.app]
  security_invoker = true
  security_barrier = true
  query            = sql("SELECT id FROM published_pages")
  column "ids" { type = sql("uuid") }
}`,
			want: schema.View{Name: "ids", Query: "SELECT id FROM published_pages",
				Columns: []*schema.ViewColumn{{Name: "ids", Type: "uuid"}}, To: []string{"app"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parseRoutines(t, tt.in)
			got := m.View(tt.want.Name)
			require.NotNil(t, got)
			assert.Equal(t, tt.want.Query, got.Query)
			assert.Equal(t, tt.want.Comment, got.Comment)
			assert.Equal(t, tt.want.To, got.To)
			require.Len(t, got.Columns, len(tt.want.Columns))
			for i, c := range tt.want.Columns {
				assert.Equal(t, c.Name, got.Columns[i].Name)
				assert.Equal(t, c.Type, got.Columns[i].Type)
				assert.Equal(t, c.Comment, got.Columns[i].Comment)
			}
			require.NotNil(t, got.QueryRange, "the query keeps its range for diagnostics")
		})
	}
}

func TestParse_Functions(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want schema.Function
	}{
		{
			name: "defaults: sql, volatile; scalar return",
			in:   `function "answer" { ` + "\n" + `to = [role.app]` + "\n" + `returns = integer` + "\n" + `body = "SELECT 42"` + "\n}",
			want: schema.Function{Name: "answer", Language: schema.SQL, Volatility: schema.Volatile,
				Returns: schema.Returns{Type: "integer"}, Body: "SELECT 42", To: []string{"app"}},
		},
		{
			name: "setof a view, arguments with a trailing default, stable",
			in: `function "search_pages" {
  comment    = "Pages whose title holds q."
  to         = [role.app, role.reader]
  volatility = STABLE
  arg "q" { type = text }
  arg "lim" {
    type    = integer
    default = 20
  }
  returns = setof(view.published_pages)
  body    = <<-SQL
    SELECT * FROM published_pages WHERE title ILIKE '%' || q || '%' LIMIT lim
  SQL
}`,
			want: schema.Function{Name: "search_pages", Comment: "Pages whose title holds q.", Language: schema.SQL,
				Volatility: schema.Stable, Returns: schema.Returns{Relation: "published_pages", SetOf: true},
				Args: []*schema.Arg{{Name: "q", Type: "text"}, {Name: "lim", Type: "integer", Default: "20"}},
				Body: "SELECT * FROM published_pages WHERE title ILIKE '%' || q || '%' LIMIT lim\n",
				To:   []string{"app", "reader"}},
		},
		{
			name: "plpgsql returning a table's row",
			in: `function "publish_page" {
  to       = [role.app]
  language = plpgsql
  arg "page_id" { type = uuid }
  returns = table.page
  body    = <<-SQL
    DECLARE
      r page;
    BEGIN
      UPDATE page SET is_published = true WHERE id = page_id RETURNING * INTO r;
      RETURN r;
    END
  SQL
}`,
			want: schema.Function{Name: "publish_page", Language: schema.PLpgSQL, Volatility: schema.Volatile,
				Returns: schema.Returns{Relation: "page"}, Args: []*schema.Arg{{Name: "page_id", Type: "uuid"}},
				Body: "DECLARE\n  r page;\nBEGIN\n  UPDATE page SET is_published = true WHERE id = page_id " +
					"RETURNING * INTO r;\n  RETURN r;\nEND\n",
				To: []string{"app"}},
		},
		{
			name: "void, immutable, setof a type",
			in: `function "noop" {
  to         = [role.app]
  volatility = IMMUTABLE
  returns    = void
  body       = "SELECT"
}
function "tags" {
  to      = [role.reader]
  returns = setof(sql("text[]"))
  body    = "SELECT ARRAY['a']"
}`,
			want: schema.Function{Name: "noop", Language: schema.SQL, Volatility: schema.Immutable,
				Returns: schema.Returns{Void: true}, Body: "SELECT", To: []string{"app"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parseRoutines(t, tt.in)
			got := m.Function(tt.want.Name)
			require.NotNil(t, got)
			assert.Equal(t, tt.want.Comment, got.Comment)
			assert.Equal(t, tt.want.Language, got.Language)
			assert.Equal(t, tt.want.Volatility, got.Volatility)
			assert.Equal(t, tt.want.Body, got.Body)
			assert.Equal(t, tt.want.To, got.To)
			w, g := tt.want.Returns, got.Returns
			assert.Equal(t, [4]any{w.Void, w.Type, w.Relation, w.SetOf}, [4]any{g.Void, g.Type, g.Relation, g.SetOf})
			require.Len(t, got.Args, len(tt.want.Args))
			for i, a := range tt.want.Args {
				assert.Equal(t, a.Name, got.Args[i].Name)
				assert.Equal(t, a.Type, got.Args[i].Type)
				assert.Equal(t, a.Default, got.Args[i].Default)
			}
		})
	}
	t.Run("setof a type", func(t *testing.T) {
		m := parseRoutines(t, `function "tags" {
  to      = [role.reader]
  returns = setof(sql("text[]"))
  body    = "SELECT ARRAY['a']"
}`)
		assert.Equal(t, schema.Returns{Type: "text[]", SetOf: true}, withoutRanges(m.Function("tags").Returns))
	})
}

func withoutRanges(r schema.Returns) schema.Returns {
	return schema.Returns{Void: r.Void, Type: r.Type, Relation: r.Relation, SetOf: r.SetOf}
}

// TestFunctionProblems covers the body checks one by one; the accepted cases show that quotes, dollar quotes and
// comments holding the refused words are data, not code.
func TestFunctionProblems(t *testing.T) {
	tests := []struct {
		name       string
		language   schema.Language
		volatility schema.Volatility
		body       string
		want       []string // summaries
	}{
		{"select", schema.SQL, schema.Stable, "SELECT count(*) FROM page", nil},
		{"insert returning", schema.SQL, schema.Volatile, "INSERT INTO page (id) VALUES (gen_random_uuid()) RETURNING id", nil},
		{"words in strings", schema.SQL, schema.Immutable, "SELECT 'SET ROLE x; RESET ALL; set_config()'", nil},
		{"words in a dollar quote", schema.SQL, schema.Immutable, "SELECT $q$'; SET ROLE postgres; --$q$", nil},
		{"words in a comment", schema.SQL, schema.Immutable, "-- SET ROLE postgres; SECURITY DEFINER\nSELECT 1", nil},
		{"tenant read without a write", schema.SQL, schema.Stable, "SELECT current_setting('app.current_tenant_id')", nil},
		{"set role", schema.SQL, schema.Volatile, "SET ROLE postgres", []string{"Session change in a function body"}},
		{"set local", schema.SQL, schema.Volatile, "SET LOCAL app.current_tenant_id = 'x'", []string{"Session change in a function body"}},
		{"reset", schema.SQL, schema.Volatile, "SELECT 1; RESET ROLE", []string{"Session change in a function body"}},
		{"set_config", schema.SQL, schema.Volatile, "SELECT pg_catalog.set_config('role', 'x', true)", []string{"Forbidden SQL function"}},
		{"set_role", schema.SQL, schema.Volatile, "SELECT set_role('x')", []string{"Session change in a function body"}},
		{"security definer", schema.SQL, schema.Volatile, "CREATE FUNCTION f() RETURNS int SECURITY DEFINER LANGUAGE sql AS 'SELECT 1'",
			[]string{"SECURITY DEFINER", "Invalid function body"}},
		{"tenant read with a write", schema.SQL, schema.Volatile,
			"UPDATE page SET title = current_setting('app.current_tenant_id')", []string{"Tenant setting read with a write"}},
		{"computed setting name with a write", schema.SQL, schema.Volatile,
			"UPDATE page SET title = current_setting('app.' || 'x')", []string{"Tenant setting read with a write"}},
		{"pg_settings with a write", schema.SQL, schema.Volatile,
			"DELETE FROM page WHERE title IN (SELECT setting FROM pg_settings)", []string{"Tenant setting read with a write"}},
		{"write in a stable function", schema.SQL, schema.Stable, "DELETE FROM page", []string{"Write in a non-volatile function"}},
		{"data-modifying WITH in an immutable function", schema.SQL, schema.Immutable,
			"WITH d AS (DELETE FROM page RETURNING id) SELECT count(*) FROM d", []string{"Write in a non-volatile function"}},
		{"registry", schema.SQL, schema.Stable, "SELECT * FROM PgTenant.tenants", []string{"Registry schema named"}},
		{"registry by regclass string", schema.SQL, schema.Stable, "SELECT 'pgtenant.tokens'::regclass", []string{"Registry schema named"}},
		{"ddl", schema.SQL, schema.Volatile, "DROP TABLE page", []string{"Invalid function body"}},
		{"syntax", schema.SQL, schema.Volatile, "SELEC 1", []string{"Invalid function body"}},
		{"backslash in a plain string", schema.SQL, schema.Immutable, `SELECT 'a\'`, []string{"Invalid function body"}},
		{"unicode escapes", schema.SQL, schema.Immutable, `SELECT U&'\0041'`, []string{"Invalid function body"}},
		{"plpgsql select", schema.PLpgSQL, schema.Stable, "BEGIN RETURN (SELECT count(*) FROM page); END", nil},
		{"plpgsql words in strings", schema.PLpgSQL, schema.Immutable,
			"BEGIN RETURN 'SET ROLE x' || $z$ set_config('a','b',true) $z$; END", nil},
		{"plpgsql perform set_config", schema.PLpgSQL, schema.Volatile,
			"BEGIN PERFORM set_config('app.current_tenant_id', 'x', true); RETURN 1; END", []string{"Forbidden SQL function"}},
		{"plpgsql assignment calls set_config", schema.PLpgSQL, schema.Volatile,
			"DECLARE n text; BEGIN n := set_config('role', 'x', true); RETURN 1; END", []string{"Forbidden SQL function"}},
		{"plpgsql condition calls set_role", schema.PLpgSQL, schema.Volatile,
			"BEGIN IF set_role('x') IS NULL THEN RETURN 0; END IF; RETURN 1; END", []string{"Session change in a function body"}},
		{"plpgsql declare default calls set_config", schema.PLpgSQL, schema.Volatile,
			"DECLARE n text := set_config('role', 'x', true); BEGIN RETURN 1; END", []string{"Forbidden SQL function"}},
		{"plpgsql cursor calls set_config", schema.PLpgSQL, schema.Volatile,
			"DECLARE c CURSOR FOR SELECT set_config('role', 'x', true); BEGIN OPEN c; RETURN 1; END",
			[]string{"Forbidden SQL function"}},
		{"plpgsql exception handler sets role", schema.PLpgSQL, schema.Volatile,
			"BEGIN RETURN 1; EXCEPTION WHEN others THEN RESET ROLE; RETURN 0; END",
			[]string{"Session change in a function body"}},
		{"plpgsql dynamic for loop", schema.PLpgSQL, schema.Volatile,
			"DECLARE r record; BEGIN FOR r IN EXECUTE 'SELECT 1' LOOP END LOOP; RETURN 1; END",
			[]string{"Invalid function body"}},
		{"plpgsql call", schema.PLpgSQL, schema.Volatile, "BEGIN CALL p(); RETURN 1; END", []string{"Invalid function body"}},
		{"plpgsql set role", schema.PLpgSQL, schema.Volatile, "BEGIN SET ROLE postgres; RETURN 1; END",
			[]string{"Session change in a function body"}},
		{"plpgsql dynamic sql", schema.PLpgSQL, schema.Volatile, "BEGIN EXECUTE 'SELECT 1'; RETURN 1; END",
			[]string{"Invalid function body"}},
		{"plpgsql dynamic return query", schema.PLpgSQL, schema.Volatile,
			"BEGIN RETURN QUERY EXECUTE 'SELECT 1'; END", []string{"Invalid function body"}},
		{"plpgsql tenant read with a write", schema.PLpgSQL, schema.Volatile,
			"BEGIN IF current_setting('app.current_tenant_id') <> '' THEN DELETE FROM page; END IF; RETURN 1; END",
			[]string{"Tenant setting read with a write"}},
		{"plpgsql write in a stable function", schema.PLpgSQL, schema.Stable,
			"BEGIN UPDATE page SET title = 'x'; RETURN 1; END", []string{"Write in a non-volatile function"}},
		{"plpgsql syntax", schema.PLpgSQL, schema.Volatile, "BEGIN RETURN 1 END", []string{"Invalid function body"}},
		{"plpgsql closes its own dollar quote", schema.PLpgSQL, schema.Volatile,
			"BEGIN RETURN 1; END $pgtenant$; SET ROLE postgres; SELECT $pgtenant$", []string{"Invalid function body"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ret := schema.Returns{Type: "integer"}
			if tt.language == schema.SQL {
				ret = schema.Returns{Relation: "page", SetOf: true}
			}
			f := &schema.Function{Name: "f", Language: tt.language, Volatility: tt.volatility, Body: tt.body, Returns: ret}
			var got []string
			for _, e := range schema.FunctionProblems(f, "app.current_tenant_id") {
				got = append(got, e.Summary)
			}
			assert.ElementsMatch(t, tt.want, got)
		})
	}
}

func TestViewProblems(t *testing.T) {
	tests := []struct {
		name, query string
		want        []string
	}{
		{"join", "SELECT p.id FROM page p JOIN page q ON q.id = p.id", nil},
		{"words in strings", "SELECT 'SET ROLE x', $a$pgtenant$a$", nil},
		{"set_config", "SELECT set_config('role', 'x', true)", []string{"Forbidden SQL function"}},
		{"tenant setting", "SELECT current_setting('app.current_tenant_id')", []string{"Forbidden SQL function"}},
		{"registry", `SELECT * FROM "pgtenant".tenants`, []string{"Registry schema named"}},
		{"two statements", "SELECT 1; SELECT 2", []string{"Invalid SQL fragment"}},
		{"a write", "WITH d AS (DELETE FROM page RETURNING id) SELECT id FROM d", []string{"Invalid SQL fragment"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range schema.ViewProblems(tt.query, "app.current_tenant_id") {
				got = append(got, e.Summary)
			}
			assert.ElementsMatch(t, tt.want, got)
		})
	}
}

func TestCheckViewColumns(t *testing.T) {
	m := parseRoutines(t, "")
	v := m.View("published_pages")
	tests := []struct {
		name string
		got  []schema.ViewColumn
		want []string
	}{
		{"same, in PostgreSQL's spelling", []schema.ViewColumn{{Name: "id", Type: "uuid"},
			{Name: "title", Type: "character varying(200)"}}, nil},
		{"another type", []schema.ViewColumn{{Name: "id", Type: "uuid"}, {Name: "title", Type: "text"}},
			[]string{"Mismatched view column type"}},
		{"another order", []schema.ViewColumn{{Name: "title", Type: "text"}, {Name: "id", Type: "uuid"}},
			[]string{"Mismatched view column", "Mismatched view column"}},
		{"one missing", []schema.ViewColumn{{Name: "id", Type: "uuid"}}, []string{"Unknown view column"}},
		{"one more", []schema.ViewColumn{{Name: "id", Type: "uuid"}, {Name: "title", Type: "varchar(200)"},
			{Name: "x", Type: "int"}}, []string{"Undeclared view column"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, d := range m.CheckViewColumns(v, tt.got) {
				got = append(got, d.Summary)
				require.NotNil(t, d.Subject, "each difference has its place in the declaration")
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestModel_JSONWithoutRoutines checks that a model without views and functions serialises as before, so that
// existing migrations/schema.json files stay byte-identical.
func TestModel_JSONWithoutRoutines(t *testing.T) {
	m, _, diags := schema.Load("../policies.hcl")
	require.False(t, diags.HasErrors(), describe(diags))
	m.Views, m.Functions = nil, nil // policies.hcl declares some: without them it is a declaration without
	b, err := json.Marshal(m)
	require.NoError(t, err)
	assert.NotContains(t, string(b), `"views"`)
	assert.NotContains(t, string(b), `"functions"`)

	m = parseRoutines(t, `function "answer" { `+"\n"+`to = [role.app]`+"\n"+`returns = integer`+"\n"+`body = "SELECT 42"`+"\n}")
	b, err = json.Marshal(m)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"views":[{"name":"published_pages"`)
	assert.Contains(t, string(b), `"functions":[{"name":"answer","returns":{"type":"integer"},"language":"sql","volatility":"VOLATILE","body":"SELECT 42","to":["app"]}]`)
}
