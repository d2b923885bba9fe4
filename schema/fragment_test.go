package schema_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/schema"
)

// The payloads of issue 11: each passed the hand-written scanner that came before PostgreSQL's parser, and
// landed in the migration as written.
const (
	// Dollar quotes hide a quote from a scanner that does not know them; the migration turned RLS off.
	smuggleDollar = `is_published AND $x$'$x$ <> '' ); ALTER TABLE webpages_webpage NO FORCE ROW LEVEL SECURITY; SELECT ( $y$'$y$ = ''`
	// A quote after a name ending in e is no E'' string: PostgreSQL reads name'\' as the type name applied to
	// the plain string '\'.
	smuggleE = `is_published AND name'\' <> '' ); ALTER TABLE webpages_webpage NO FORCE ROW LEVEL SECURITY; SELECT ( E'\'' = ''`
	// The variant that let one tenant read another's rows through a normal POST.
	smuggleTrigger = `is_published AND $a$'$a$ <> '' ); CREATE FUNCTION public.steal() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN PERFORM set_config('app.current_tenant_id', NEW.name, true); RETURN NEW; END $f$; CREATE TRIGGER steal BEFORE INSERT ON public.webpages_webpage FOR EACH ROW EXECUTE FUNCTION public.steal(); SELECT ( $b$'$b$ = ''`
)

// fragmentCases are fragments with the kind they are parsed as and where ParseFragment must refuse them (the
// text the error's span starts with; "" for accepted fragments, "*" for the whole fragment). FuzzFragment
// starts from them.
var fragmentCases = []struct {
	name string
	kind schema.FragmentKind
	text string
	at   string
}{
	// Accepted: what PostgreSQL reads as one expression or type, quotes of every kind included.
	{"plain", schema.ExprFragment, "is_published", ""},
	{"dollar quote holding a quote", schema.ExprFragment, `name <> $x$it's$x$`, ""},
	{"E string with an escaped quote", schema.ExprFragment, `name <> e'it\'s'`, ""},
	{"E string with a backslash and a bracket", schema.ExprFragment, `name <> E'\\)'`, ""},
	{"unicode escape string", schema.ExprFragment, `name = U&'\0041'`, ""},
	{"quoted name with a quote and a bracket", schema.ExprFragment, `"we""ird)" IS NOT NULL`, ""},
	{"brackets in strings", schema.ExprFragment, `name <> ')' AND name <> '('`, ""},
	{"sub-select", schema.ExprFragment, "EXISTS (SELECT 1 FROM webpages_pagetheme AS t WHERE t.id = theme_id)", ""},
	{"case and arrays", schema.ExprFragment, "CASE WHEN tags[1] = ANY (ARRAY['a', 'b']) THEN 1 ELSE 2 END > 0", ""},
	{"multi-line", schema.ExprFragment, "is_published\n  AND name <> ''\r\n", ""},
	{"other setting", schema.ExprFragment, "name <> current_setting('application_name')", ""},
	{"default call", schema.DefaultFragment, "gen_random_uuid()", ""},
	{"default literal", schema.DefaultFragment, "'it''s'", ""},
	{"default sequence", schema.DefaultFragment, "nextval('public.s'::regclass)", ""},
	{"default in brackets", schema.DefaultFragment, "(now() + interval '1 day')", ""},
	{"type with modifiers", schema.TypeFragment, "numeric(10, 2)", ""},
	{"type in two words", schema.TypeFragment, "timestamp(3) with time zone", ""},
	{"array type", schema.TypeFragment, "text[]", ""},
	{"qualified type", schema.TypeFragment, "pg_catalog.int4", ""},

	// Refused: anything more than one expression or type, and what could become more on another server.
	{"issue 11: dollar quotes", schema.ExprFragment, smuggleDollar, ")"},
	{"issue 11: not an E string", schema.ExprFragment, smuggleE, `'\'`},
	{"issue 11: trigger", schema.ExprFragment, smuggleTrigger, ")"},
	{"closes the bracket around it", schema.ExprFragment, "a) + (b", ")"},
	{"semicolon", schema.ExprFragment, "true; DROP TABLE t", ";"},
	{"line comment", schema.ExprFragment, "true -- and then", "-- and then"},
	{"block comment", schema.ExprFragment, "true /* ) ; DROP TABLE t; */", "/*"},
	{"bracket left open", schema.ExprFragment, "(a = b", "("},
	{"unterminated string", schema.ExprFragment, "name <> 'x", "'x"},
	{"unterminated dollar quote", schema.ExprFragment, "name <> $q$x", "$q$x"},
	{"backslash in a plain string", schema.ExprFragment, `name <> '\'`, `'\'`},
	{"syntax error", schema.ExprFragment, "a = = b", "= b"},
	{"alias inside the brackets", schema.ExprFragment, "true AS x", "AS"},
	{"from inside the brackets", schema.ExprFragment, "x FROM pg_class", "FROM"},
	{"nul byte", schema.ExprFragment, "true\x00); DROP TABLE t; --", "\x00"},
	{"empty", schema.ExprFragment, "  ", "*"},
	{"default with a constraint after it", schema.DefaultFragment, "1 NOT NULL", "*"},
	{"default with a column after it", schema.DefaultFragment, "0, evil text", "*"},
	{"default AND needs brackets", schema.DefaultFragment, "true AND false", "AND"},
	{"type with a default", schema.TypeFragment, "text DEFAULT 'x'", "*"},
	{"type with a collation", schema.TypeFragment, `text COLLATE "C"`, "*"},
	{"type closing the table", schema.TypeFragment, "text) ; DROP TABLE t; CREATE TABLE u (x int", ")"},
	{"expression as a type", schema.TypeFragment, "1 + 1", "1"},
}

func TestParseFragment(t *testing.T) {
	for _, tt := range fragmentCases {
		t.Run(tt.name, func(t *testing.T) {
			f, err := schema.ParseFragment(tt.kind, tt.text)
			if tt.at == "" {
				require.Nil(t, err, "%v", err)
				assert.Equal(t, tt.text, f.Text)
				return
			}
			require.NotNil(t, err, "refused")
			assert.Nil(t, f)
			assert.Equal(t, "Invalid SQL fragment", err.Summary)
			if tt.at == "*" {
				assert.Equal(t, -1, err.Offset, err.Detail)
				return
			}
			require.GreaterOrEqual(t, err.Offset, 0, err.Detail)
			assert.Equal(t, strings.Index(tt.text, tt.at), err.Offset, "%s", err.Detail)
		})
	}
}

func TestFragment_Forbidden(t *testing.T) {
	const setting = "app.current_tenant_id"
	tests := []struct {
		name string
		text string
		at   []string // where each problem starts, in order
	}{
		{"none", "is_published AND name <> current_setting('application_name', true)", nil},
		{"set_config", "set_config('app.current_tenant_id', name, true) IS NOT NULL", []string{"set_config"}},
		{"qualified, any case", `PG_CATALOG.Set_Config('role', 'x', false) = ''`, []string{"PG_CATALOG"}},
		{"quoted name", `"set_config"('a.b', 'x', false) = ''`, []string{`"set_config"`}},
		{"in a sub-select", "EXISTS (SELECT pg_catalog.set_config('a.b', 'x', true))", []string{"pg_catalog"}},
		{"tenant setting", "name = current_setting('app.current_tenant_id')", []string{"current_setting"}},
		{"tenant setting, other case and quotes", `name = current_setting(' "APP".Current_Tenant_ID')`, []string{"current_setting"}},
		{"computed setting name", "name = current_setting(lower('APP.CURRENT_TENANT_ID'))", []string{"current_setting"}},
		{"pg_settings", "EXISTS (SELECT FROM pg_catalog.pg_settings)", []string{"pg_catalog"}},
		{"dblink family", "dblink_exec('x') = '' AND dblink_connect('y') = ''", []string{"dblink_exec", "dblink_connect"}},
		{"files", "pg_read_binary_file('x') IS NULL OR pg_ls_dir('.') IS NULL OR lo_import('/etc/passwd') > 0",
			[]string{"pg_read_binary_file", "pg_ls_dir", "lo_import"}},
		{"adminpack", "pg_file_write('x', 'y', false) > 0", []string{"pg_file_write"}},
		{"sessions and server", "pg_cancel_backend(1) OR pg_reload_conf()", []string{"pg_cancel_backend", "pg_reload_conf"}},
		{"text as SQL", "ts_stat('SELECT 1') IS NULL OR table_to_xml('t', true, true, '') IS NULL",
			[]string{"ts_stat", "table_to_xml"}},
		{"waits and notifies", "pg_sleep_for('1 s') IS NULL OR pg_notify('pgtenant', 'registry') IS NULL",
			[]string{"pg_sleep_for", "pg_notify"}},
		{"writes rows", "EXISTS (WITH d AS (DELETE FROM t RETURNING 1) SELECT 1 FROM d)", []string{"*"}},
		{"locks rows", "EXISTS (SELECT 1 FROM t FOR SHARE)", []string{"*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, perr := schema.ParseFragment(schema.ExprFragment, tt.text)
			require.Nil(t, perr, "%v", perr)
			var got []string
			for _, e := range f.Forbidden(setting) {
				if e.Offset < 0 {
					got = append(got, "*")
					continue
				}
				got = append(got, tt.text[e.Offset:e.Offset+e.Length])
			}
			var want []string
			for _, at := range tt.at {
				if at == "*" {
					want = append(want, at)
					continue
				}
				want = append(want, tt.text[strings.Index(tt.text, at):][:len(at)])
			}
			assert.Equal(t, want, got)
		})
	}
}

func TestMentions(t *testing.T) {
	assert.True(t, schema.Mentions("slug <> ''", "slug"))
	assert.True(t, schema.Mentions("EXISTS (SELECT 1 FROM public.theme AS x WHERE x.id = theme_id)", "theme"))
	assert.True(t, schema.Mentions(`"Slug" IS NULL`, "Slug"))
	assert.False(t, schema.Mentions(`"Slug" IS NULL`, "slug"), "a quoted name keeps its case")
	assert.False(t, schema.Mentions("status <> 'slug'", "slug"), "a string is not a name")
	assert.False(t, schema.Mentions("lower(x) = 'a'", "lower"), "a function is not a column")
	assert.True(t, schema.Mentions("a = = b", "c"), "text that does not parse names everything")
}

// TestLoad_FragmentPosition checks that a problem in a fragment is reported on its line and column in the
// source, through the escapes of a quoted string, the indentation of a heredoc and sql("…").
func TestLoad_FragmentPosition(t *testing.T) {
	src := `table "t" {
  column "id" { type = uuid }
  column "owner" { type = text }
  column "n" {
    type    = integer
    default = sql("length(\"owner\") + pg_sleep(1)")
  }
  primary_key { columns = [column.id] }
}

policy "quoted" {
  on    = table.t
  using = "owner <> E'\\t' AND set_config('a.b', owner, true) <> ''"
}

policy "heredoc" {
  on    = table.t
  using = <<-EOT
    owner <> ''
      AND current_setting('app.current_tenant_id') <> ''
  EOT
}
`
	_, _, diags := schema.Parse(schema.Source{Filename: "p.hcl", Bytes: []byte(src)})
	require.Len(t, diags, 3, "%s", diags)
	want := []struct {
		text       string
		line, col  int
		whole, ctx string
	}{
		{"pg_sleep", 6, 40, "pg_sleep", `sql("length(\"owner\") + pg_sleep(1)")`},
		{"set_config", 13, 32, "set_config", `"owner <> E'\\t' AND set_config('a.b', owner, true) <> ''"`},
		{"current_setting", 20, 11, "current_setting", ""},
	}
	for i, w := range want {
		d := diags[i]
		require.NotNil(t, d.Subject)
		assert.Equal(t, "Forbidden SQL function", d.Summary)
		assert.Equal(t, w.line, d.Subject.Start.Line, "%s: %s", w.text, d.Subject)
		assert.Equal(t, w.col, d.Subject.Start.Column, "%s: %s", w.text, d.Subject)
		assert.Equal(t, w.whole, src[d.Subject.Start.Byte:d.Subject.End.Byte])
		require.NotNil(t, d.Context)
		if w.ctx != "" {
			assert.Equal(t, w.ctx, src[d.Context.Start.Byte:d.Context.End.Byte])
		}
	}
}

func TestMaskFragments(t *testing.T) {
	m, _, diags := schema.Load("../policies.hcl")
	require.False(t, diags.HasErrors(), "%s", diags)
	masked, err := schema.MaskFragments(m, nil, m)
	require.NoError(t, err)
	require.Len(t, masked, 3)
	assert.Nil(t, masked[1])
	assert.Equal(t, masked[0], masked[2], "one fragment, one stand-in, in every model")

	page, maskedPage := m.Table("webpages_webpage"), masked[0].Table("webpages_webpage")
	assert.Equal(t, "gen_random_uuid()", page.Column("id").Default, "the original is left alone")
	assert.Regexp(t, `^ROW\(\d+\)$`, maskedPage.Column("id").Default)
	assert.Equal(t, page.Column("id").Type, maskedPage.Column("id").Type, "types are kept")
	p := masked[0].PoliciesOn("webpages_webpage")[0]
	assert.Regexp(t, `^ROW\(\d+, "is_published"\)$`, p.Using, "the names a fragment refers to are kept")
	assert.True(t, schema.Mentions(p.Using, "is_published"))

	bad := *m.Policies[0]
	bad.Using = smuggleDollar
	broken := *m
	broken.Policies = append([]*schema.Policy{&bad}, m.Policies[1:]...)
	_, err = schema.MaskFragments(&broken)
	assert.ErrorContains(t, err, "using expression of policy "+bad.Name)
}

func TestParseScript(t *testing.T) {
	sql := "-- a comment\nCREATE TABLE t (a int);\n\n/* b */ ALTER TABLE t ENABLE ROW LEVEL SECURITY; GRANT SELECT ON t TO x"
	got, err := schema.ParseScript(sql)
	require.NoError(t, err)
	var kinds, firsts []string
	for _, s := range got {
		kinds = append(kinds, s.Kind)
		firsts = append(firsts, sql[s.First:s.First+5])
	}
	assert.Equal(t, []string{"CreateStmt", "AlterTableStmt", "GrantStmt"}, kinds)
	assert.Equal(t, []string{"CREAT", "ALTER", "GRANT"}, firsts)
	assert.Equal(t, 0, got[0].Start, "a comment belongs to the statement after it")

	_, err = schema.ParseScript("SELECT 1;\x00 DROP TABLE t")
	assert.ErrorContains(t, err, "NUL")
	_, err = schema.ParseScript("SELECT (1")
	assert.Error(t, err)
}

// FuzzFragment feeds arbitrary text to the fragment check. It must never panic; and a fragment it accepts must
// stay exactly one expression (or type) in every place the generator writes one: the statement around it parses
// as that one statement, with nothing before or after it.
func FuzzFragment(f *testing.F) {
	for _, tt := range fragmentCases {
		f.Add(int(tt.kind), tt.text)
	}
	f.Fuzz(func(t *testing.T, kind int, text string) {
		k := schema.FragmentKind(((kind % 3) + 3) % 3)
		frag, err := schema.ParseFragment(k, text)
		if err != nil {
			if err.Offset < -1 || err.Offset > len(text) || err.Offset+err.Length > len(text) {
				t.Fatalf("error span %d+%d outside %q", err.Offset, err.Length, text)
			}
			return
		}
		frag.Forbidden("app.current_tenant_id")
		frag.Names()
		var places map[string]string
		switch k {
		case schema.TypeFragment:
			places = map[string]string{
				"CREATE TABLE t (c " + text + " NOT NULL, d int);":                      "CreateStmt",
				"ALTER TABLE t ALTER COLUMN c TYPE " + text + " USING c::" + text + ";": "AlterTableStmt",
			}
		case schema.DefaultFragment:
			places = map[string]string{
				"CREATE TABLE t (c int NOT NULL DEFAULT " + text + ",\n d int);": "CreateStmt",
				"ALTER TABLE t ALTER COLUMN c SET DEFAULT " + text + ";":         "AlterTableStmt",
			}
		default:
			places = map[string]string{
				"CREATE POLICY p ON t AS RESTRICTIVE FOR ALL TO PUBLIC\n    USING (" + text + ")\n    WITH CHECK (" + text + ");": "CreatePolicyStmt",
				"CREATE TABLE t (c int,\n    CONSTRAINT k CHECK (" + text + "),\n d int);":                                        "CreateStmt",
				"CREATE INDEX i ON t (c) WHERE (" + text + ");":                                                                   "IndexStmt",
			}
		}
		for sql, kind := range places {
			stmts, err := schema.ParseScript("SELECT 1;\n" + sql + "\nSELECT 2;")
			if err != nil {
				t.Fatalf("accepted %q, but %q does not parse: %v", text, sql, err)
			}
			if len(stmts) != 3 || stmts[1].Kind != kind {
				t.Fatalf("accepted %q, but %q parses as %v", text, sql, stmts)
			}
		}
	})
}

// TestQuoteLiteral checks that a quoted string reads back as itself, and the same whether or not the server
// has standard_conforming_strings on: with a backslash in it, it is an E” string.
func TestQuoteLiteral(t *testing.T) {
	for _, s := range []string{"plain", "it's", `C:\dir\`, `\' ); DROP TABLE t; --`} {
		q := schema.QuoteLiteral(s)
		assert.Equal(t, strings.Contains(s, `\`), strings.HasPrefix(q, "E'"), q)
		f, err := schema.ParseFragment(schema.DefaultFragment, q)
		require.Nil(t, err, "%s: %v", q, err)
		require.Len(t, f.Names(), 0)
		stmts, perr := schema.ParseScript("COMMENT ON TABLE t IS " + q + "; SELECT 1")
		require.NoError(t, perr)
		assert.Len(t, stmts, 2)
	}
	assert.Equal(t, `E'a\\b''c'`, schema.QuoteLiteral(`a\b'c`))
	assert.Equal(t, `'it''s'`, schema.QuoteLiteral("it's"))
}

func TestParseScript_Creates(t *testing.T) {
	got, err := schema.ParseScript(`CREATE TABLE public.t (a int); CREATE TABLE u (b int);
		CREATE FUNCTION pgtenant.f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
		CREATE TRIGGER g AFTER INSERT ON public.t FOR EACH STATEMENT EXECUTE FUNCTION pgtenant.f();
		CREATE RULE r AS ON INSERT TO public.t DO ALSO NOTIFY x; GRANT SELECT ON public.t TO x`)
	require.NoError(t, err)
	var objects [][2]string
	for _, s := range got {
		objects = append(objects, [2]string{s.Object, s.On})
	}
	assert.Equal(t, [][2]string{{"public.t", ""}, {".u", ""}, {"pgtenant.f", ""}, {"g", "public.t"}, {"r", "public.t"}, {"", ""}}, objects)
}
