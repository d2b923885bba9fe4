package migrate_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/migrate"
	"pgtenant/schema"
)

// smuggled is the first payload of issue 11: a policy `using` that PostgreSQL reads as the end of the CREATE
// POLICY statement, an ALTER TABLE that turns row-level security off, and a SELECT.
const smuggled = `is_published AND $x$'$x$ <> '' ); ALTER TABLE webpages_webpage NO FORCE ROW LEVEL SECURITY; SELECT ( $y$'$y$ = ''`

func loadPolicies(t *testing.T) *schema.Model {
	t.Helper()
	m, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors(), "%s", diags)
	return m
}

// withUsing returns a copy of m whose first declared policy has the using expression text: a model that did
// not come from schema.Load, which would refuse it.
func withUsing(m *schema.Model, text string) *schema.Model {
	c := *m
	p := *m.Policies[0]
	p.Using = text
	c.Policies = append([]*schema.Policy{&p}, m.Policies[1:]...)
	return &c
}

func TestCheckStatements(t *testing.T) {
	files, err := migrate.Generate(t.TempDir(), loadPolicies(t), migrate.GenerateOptions{})
	require.NoError(t, err)
	const up = "000001_init.up.sql"
	require.Contains(t, string(files[up]), "USING (is_published)")
	require.NoError(t, migrate.CheckStatements(files, files))

	tamper := func(old, new string) map[string][]byte {
		out := map[string][]byte{}
		for n, b := range files {
			out[n] = b
		}
		require.Equal(t, 1, strings.Count(string(files[up]), old), old)
		out[up] = []byte(strings.Replace(string(files[up]), old, new, 1))
		return out
	}
	lineOf := func(files map[string][]byte, text string) int {
		s := string(files[up])
		return strings.Count(s[:strings.Index(s, text)], "\n") + 1
	}

	// A fragment that closes its statement and adds one: more statements than generated.
	got := tamper("USING (is_published)", "USING ("+smuggled+")")
	err = migrate.CheckStatements(got, files)
	var se *migrate.StatementError
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Equal(t, up, se.File)
	assert.Equal(t, len(se.Want)+2, len(se.Got))
	assert.Equal(t, lineOf(got, "ALTER TABLE webpages_webpage NO FORCE"), se.Line)
	assert.ErrorContains(t, err, "is AlterTableStmt where pgtenant wrote")

	// As many statements as generated, one of another kind.
	grant := "GRANT SELECT ON TABLE public.content_language TO app, reader;"
	got = tamper(grant, "ALTER TABLE public.content_language NO FORCE ROW LEVEL SECURITY;")
	err = migrate.CheckStatements(got, files)
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Equal(t, len(se.Want), len(se.Got))
	assert.Equal(t, lineOf(got, "ALTER TABLE public.content_language NO FORCE"), se.Line)
	assert.ErrorContains(t, err, "is AlterTableStmt where pgtenant wrote GrantStmt")

	// A file the parser cannot read.
	got = tamper("USING (is_published)", "USING (is_published")
	err = migrate.CheckStatements(got, files)
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Error(t, se.Err)
}

// TestGenerate_RefusesUnparsedFragments checks that a model whose SQL is not exactly one expression per fragment
// gets no migration, first or next, whoever built the model.
func TestGenerate_RefusesUnparsedFragments(t *testing.T) {
	m := loadPolicies(t)
	bad := withUsing(m, smuggled)

	files, err := migrate.Generate(t.TempDir(), bad, migrate.GenerateOptions{})
	assert.ErrorContains(t, err, "using expression of policy "+m.Policies[0].Name)
	assert.Nil(t, files)

	dir := t.TempDir()
	files, err = migrate.Generate(dir, m, migrate.GenerateOptions{})
	require.NoError(t, err)
	require.NoError(t, migrate.WriteFiles(dir, files))
	files, err = migrate.Generate(dir, bad, migrate.GenerateOptions{})
	assert.ErrorContains(t, err, "using expression of policy "+m.Policies[0].Name)
	assert.Nil(t, files)
}

// TestGenerate_Incremental checks that the re-parse lets through what the generator writes for a change of
// every kind that involves declared SQL: a changed policy, a renamed column that a check names, a new default
// and a new type.
func TestGenerate_Incremental(t *testing.T) {
	dir := t.TempDir()
	src := `role "app" { privileges = [SELECT, INSERT, UPDATE, DELETE] }
table "t" {
  column "id" { type = uuid }
  column "n" { type = integer }
  column "s" { type = text }
  primary_key { columns = [column.id] }
  check "t_n" { expr = "n > 0" }
  index "t_s" {
    columns = [column.s]
    where   = "s <> ''"
  }
}
policy "p" {
  on    = table.t
  using = "n < 100"
}
`
	generate := func(src string) map[string][]byte {
		t.Helper()
		m, _, diags := schema.Parse(schema.Source{Filename: "p.hcl", Bytes: []byte(src)})
		require.False(t, diags.HasErrors(), "%s", diags)
		files, err := migrate.Generate(dir, m, migrate.GenerateOptions{AllowDestructive: true})
		require.NoError(t, err)
		require.NoError(t, migrate.WriteFiles(dir, files))
		return files
	}
	generate(src)
	next := strings.NewReplacer(
		`column "n" { type = integer }`, `column "m" {
    type         = bigint
    renamed_from = "n"
    default      = sql("(42)")
  }`,
		`"n > 0"`, `"m > 0"`,
		`"n < 100"`, `"m < $$1000$$::bigint"`,
		`column "s" { type = text }`, `column "s" { type = varchar(20) }`,
	).Replace(src)
	files := generate(next)
	require.Contains(t, files, "000002_rename_column_t_n_and_more.up.sql", "%v", files)
}

// TestGenerate_RefusesTenantEscape: a function body that tries to change the tenant or the role of its
// transaction never reaches a migration, even in a model that did not come from schema.Load (which refuses it
// with its line). Generate runs validation's fragment checks again, so the only way a declared body gets into the
// database is one that passed them.
func TestGenerate_RefusesTenantEscape(t *testing.T) {
	m, _, diags := schema.Load("testdata/tenant-escape.hcl")
	require.False(t, diags.HasErrors(), "%s", diags)
	_, err := migrate.Generate(t.TempDir(), m, migrate.GenerateOptions{})
	require.NoError(t, err, "the declaration as written generates")

	for _, tt := range []struct{ fn, body string }{
		{"other_notes", "SELECT set_config('app.current_tenant_id', other::text, true); SELECT * FROM note"},
		{"other_notes", "SELECT * FROM note WHERE set_config('app.current_tenant_id', other::text, true) IS NOT NULL"},
		{"other_notes", "SET LOCAL app.current_tenant_id = '00000000-0000-0000-0000-000000000000'; SELECT * FROM note"},
		{"other_notes", "SET ROLE NONE; SELECT * FROM note"},
		{"other_notes", "SELECT set_config('role', 'postgres', true); SELECT * FROM note"},
		{"other_notes", "RESET app.current_tenant_id; SELECT * FROM note"},
		{"other_notes_plpgsql", "BEGIN PERFORM set_config('app.current_tenant_id', other::text, true); RETURN QUERY SELECT * FROM note; END"},
		{"other_notes_plpgsql", "BEGIN SET LOCAL ROLE NONE; RETURN QUERY SELECT * FROM note; END"},
		{"other_notes_plpgsql", "BEGIN EXECUTE format('SET app.current_tenant_id = %L', other); RETURN QUERY SELECT * FROM note; END"},
		{"other_notes_plpgsql", "BEGIN RETURN QUERY SELECT * FROM note; END; ALTER FUNCTION other_notes_plpgsql(uuid) SECURITY DEFINER"},
	} {
		t.Run(tt.body, func(t *testing.T) {
			c := *m
			c.Functions = slices.Clone(m.Functions)
			i := slices.IndexFunc(c.Functions, func(f *schema.Function) bool { return f.Name == tt.fn })
			f := *c.Functions[i]
			f.Body = tt.body
			c.Functions[i] = &f
			files, err := migrate.Generate(t.TempDir(), &c, migrate.GenerateOptions{})
			assert.ErrorContains(t, err, "body of function "+tt.fn)
			assert.Nil(t, files)
		})
	}
}
