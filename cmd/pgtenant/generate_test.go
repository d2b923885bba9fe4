package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/ddl"
	"pgtenant/internal/pgtest"
)

// editDeclaration rewrites the project's policies.hcl with edit.
func editDeclaration(t *testing.T, dir string, edit func(string) string) {
	t.Helper()
	path := filepath.Join(dir, "policies.hcl")
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	changed := edit(string(src))
	require.NotEqual(t, string(src), changed, "the edit changes nothing")
	require.NoError(t, os.WriteFile(path, []byte(changed), 0o644))
}

const noteTable = `
table "content_note" {
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "namespace_id" {
    references = table.content_namespace
    on_delete  = CASCADE
  }
  column "body" { type = text }
  primary_key { columns = [column.id] }
}
`

// namespaceName anchors an edit in table content_namespace.
const namespaceName = `  column "slug" { type = varchar(100) }
  column "name" { type = text }
  column "language_code" {`

const subtitleColumn = `  column "slug" { type = varchar(100) }
  column "name" { type = text }
  column "subtitle" {
    type = text
    null = true
  }
  column "language_code" {`

// TestGenerate_Incremental is issue 6's first acceptance line: a new tenant table and a new column give
// 000002; after migrate up the new table has forced RLS and keeps tenants apart, for the app login and the
// table owner; migrate down 1 removes them again.
func TestGenerate_Incremental(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	dir := project(t, env)
	editDeclaration(t, dir, func(s string) string {
		return strings.Replace(s, namespaceName, subtitleColumn, 1) + noteTable
	})
	code, stdout, stderr := pgtenant(t, env, "generate")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "000002_add_column_content_namespace_subtitle_and_more.up.sql")
	assert.Contains(t, stdout, "000002_add_column_content_namespace_subtitle_and_more.down.sql")
	code, stdout, stderr = pgtenant(t, env, "generate", "--check")
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "up to date")
	code, stdout, _ = pgtenant(t, env, "generate")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "No changes")

	db := pgtest.NewEmpty(t)
	env["ADMIN_DATABASE_URL"] = db.OwnerURL
	code, stdout, stderr = pgtenant(t, env, "migrate", "up")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "Migrated up from version 0 to 2.")

	var rls, force bool
	var policies int
	require.NoError(t, db.Owner.QueryRow(t.Context(), `SELECT relrowsecurity, relforcerowsecurity,
	    (SELECT count(*) FROM pg_policies WHERE tablename = 'content_note')
	  FROM pg_class WHERE oid = 'public.content_note'::regclass`).Scan(&rls, &force, &policies))
	assert.True(t, rls && force, "content_note has row-level security enabled and forced")
	assert.Equal(t, 3, policies, "tenant_isolation, app_access, reader_access")

	// Two tenants, a namespace and a note each, written by the app login under each tenant.
	ctx := t.Context()
	var a, b string
	_, err := db.Owner.Exec(ctx, `INSERT INTO pgtenant.tenants (identifier, name, created_by) VALUES ('a', 'A', 'test'), ('b', 'B', 'test')`)
	require.NoError(t, err)
	require.NoError(t, db.Owner.QueryRow(ctx, `SELECT (SELECT id::text FROM pgtenant.tenants WHERE identifier = 'a'),
	    (SELECT id::text FROM pgtenant.tenants WHERE identifier = 'b')`).Scan(&a, &b))
	check := func(conn string, pool *pgxpool.Pool, writes bool) {
		for _, tenant := range []string{a, b} {
			if !writes {
				break // FORCE: the owner has no policy that lets it write, or read, a tenant's rows
			}
			tx, err := pool.Begin(ctx)
			require.NoError(t, err)
			defer func() { _ = tx.Rollback(ctx) }()
			_, err = tx.Exec(ctx, "SELECT set_config('app.current_tenant_id', $1, true)", tenant)
			require.NoError(t, err)
			_, err = tx.Exec(ctx, `WITH n AS (INSERT INTO content_namespace (slug, name, subtitle) VALUES ($1::text, 'N', 'S') RETURNING id)
			    INSERT INTO content_note (namespace_id, body) SELECT id, $1::text FROM n`, tenant)
			require.NoError(t, err, "%s writes a note for its own tenant", conn)
			require.NoError(t, tx.Commit(ctx))
		}
		for _, tenant := range []string{a, b} {
			tx, err := pool.Begin(ctx)
			require.NoError(t, err)
			defer func() { _ = tx.Rollback(ctx) }()
			_, err = tx.Exec(ctx, "SELECT set_config('app.current_tenant_id', $1, true)", tenant)
			require.NoError(t, err)
			rows, err := tx.Query(ctx, "SELECT tenant_id::text FROM content_note")
			require.NoError(t, err)
			seen, err := pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
			assert.Equal(t, writes, len(seen) > 0, "%s sees its tenant's notes", conn)
			for _, s := range seen {
				assert.Equal(t, tenant, s, "%s sees only its tenant's notes", conn)
			}
			_, err = tx.Exec(ctx, "INSERT INTO content_note (tenant_id, namespace_id, body) VALUES ($1, gen_random_uuid(), 'x')",
				map[string]string{a: b, b: a}[tenant])
			require.Error(t, err, "%s cannot write a note for the other tenant", conn)
			assert.Contains(t, err.Error(), "42501", "refused: no privilege on the tenant column, or the tenant policy")
		}
		// No tenant: no rows.
		var n int
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM content_note").Scan(&n))
		assert.Zero(t, n, "%s without a tenant sees no note", conn)
	}
	check("the app login", db.Login(t, "app"), true)
	check("the table owner", db.Owner, false)

	code, stdout, stderr = pgtenant(t, env, "migrate", "down", "1")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "Migrated down from version 2 to 1.")
	require.NoError(t, db.Owner.QueryRow(ctx, "SELECT to_regclass('public.content_note') IS NULL").Scan(&rls))
	assert.True(t, rls, "the down migration drops the new table")
}

// TestGenerate_Destructive is issue 6's second acceptance line.
func TestGenerate_Destructive(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	dir := project(t, env)
	editDeclaration(t, dir, func(s string) string {
		i := strings.Index(s, `table "webpages_webpage" {`)
		return s[:i] + strings.Replace(s[i:], "  column \"title\" { type = text }\n", "", 1)
	})
	code, _, stderr := pgtenant(t, env, "generate")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "drops column webpages_webpage.title and its data")
	assert.Contains(t, stderr, "--allow-destructive")
	files, err := filepath.Glob(filepath.Join(dir, "migrations", "000002_*"))
	require.NoError(t, err)
	assert.Empty(t, files, "a refused change writes nothing")

	code, stdout, stderr := pgtenant(t, env, "generate", "--allow-destructive")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "000002_drop_column_webpages_webpage_title")
}

// TestGenerate_ConcurrentIndexes puts an index on an existing table in a non-transactional migration of its
// own, which migrate up applies.
func TestGenerate_ConcurrentIndexes(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	dir := project(t, env)
	editDeclaration(t, dir, func(s string) string {
		return strings.Replace(s, `  index "content_tag_namespace_slug" {`, `  index "content_tag_name" {
    columns = [column.name]
  }
  index "content_tag_namespace_slug" {`, 1)
	})
	code, stdout, stderr := pgtenant(t, env, "generate", "--concurrent-indexes")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "000002_index_content_tag_name_concurrently.up.sql")
	up, err := os.ReadFile(filepath.Join(dir, "migrations", "000002_index_content_tag_name_concurrently.up.sql"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(up), ddl.NonTransactional+"\n"))
	assert.Contains(t, string(up), "CREATE INDEX CONCURRENTLY content_tag_name ON public.content_tag (tenant_id, name);")

	db := pgtest.NewEmpty(t)
	env["ADMIN_DATABASE_URL"] = db.OwnerURL
	code, stdout, stderr = pgtenant(t, env, "migrate", "up")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "Migrated up from version 0 to 2.")
	var valid bool
	require.NoError(t, db.Owner.QueryRow(t.Context(),
		"SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.content_tag_name'::regclass").Scan(&valid))
	assert.True(t, valid)
	code, _, stderr = pgtenant(t, env, "migrate", "down", "1")
	require.Equal(t, exitOK, code, stderr)
}

// TestGenerate_GeneratorUpgrade is issue 14's third acceptance line: a deployment with two migrations whose
// policies an older pgtenant wrote differently (the tenant predicate without its sub-select), and the same
// declaration. verify fails on it; generate writes 000003_generator_upgrade, which migrate up applies, and
// verify passes after it. Its down migration puts the older text back.
//
// Not parallel: its first migrate up creates the cluster-wide roles, which a parallel test's first migrate up
// may be creating at the same moment (CREATE ROLE then fails on pg_authid's unique name).
func TestGenerate_GeneratorUpgrade(t *testing.T) {
	env := cliEnv{}
	dir := project(t, env)
	editDeclaration(t, dir, func(s string) string { return s + noteTable })
	code, stdout, stderr := pgtenant(t, env, "generate")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "000002_add_table_content_note.up.sql")

	// What the older generator wrote: every file that holds a tenant policy, schema.json's objects too.
	const current = "tenant_id = (SELECT NULLIF(current_setting('app.current_tenant_id', true), '')::uuid)"
	const older = "tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid"
	for _, f := range []string{"000001_init.up.sql", "000002_add_table_content_note.up.sql",
		"schema.json"} {
		path := filepath.Join(dir, "migrations", f)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Contains(t, string(b), current, f)
		require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(string(b), current, older)), 0o644))
	}

	db := pgtest.NewEmpty(t)
	env["ADMIN_DATABASE_URL"] = db.OwnerURL
	code, stdout, stderr = pgtenant(t, env, "migrate", "up")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "Migrated up from version 0 to 2.")
	env["DATABASE_URL"] = db.LoginURL(t, "app", "reader")
	code, stdout, _ = pgtenant(t, env, "verify")
	require.NotEqual(t, exitOK, code, "verify fails on policies the generator no longer writes:\n%s", stdout)

	code, _, stderr = pgtenant(t, env, "generate", "--check")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "000003_generator_upgrade.up.sql")
	code, stdout, stderr = pgtenant(t, env, "generate")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "000003_generator_upgrade.up.sql")
	assert.Contains(t, stdout, "000003_generator_upgrade.down.sql")
	assert.Contains(t, stdout, "generator upgrade")
	up, err := os.ReadFile(filepath.Join(dir, "migrations", "000003_generator_upgrade.up.sql"))
	require.NoError(t, err)
	assert.Contains(t, string(up), "DROP POLICY tenant_isolation ON public.content_note;\nCREATE POLICY tenant_isolation ON public.content_note")
	assert.NotContains(t, string(up), older)
	down, err := os.ReadFile(filepath.Join(dir, "migrations", "000003_generator_upgrade.down.sql"))
	require.NoError(t, err)
	assert.Contains(t, string(down), older)
	code, stdout, _ = pgtenant(t, env, "generate")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "No changes")

	code, stdout, stderr = pgtenant(t, env, "migrate", "up")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "Migrated up from version 2 to 3.")
	code, stdout, stderr = pgtenant(t, env, "verify")
	assert.Equal(t, exitOK, code, stdout+stderr)

	code, _, stderr = pgtenant(t, env, "migrate", "down", "1")
	require.Equal(t, exitOK, code, stderr)
	code, stdout, _ = pgtenant(t, env, "verify")
	assert.NotEqual(t, exitOK, code, "the down migration restores the older policies:\n%s", stdout)
}
