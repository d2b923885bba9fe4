package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/backup"
	"pgtenant/engine/pgtx"
	"pgtenant/internal/pgtest"
)

// backupDB is a database for the backup commands: env points the CLI at it, and the app login's runner writes
// rows the way the API would.
type backupDB struct {
	db       *pgtest.DB
	loginURL string
	runner   *pgtx.Runner
}

// useBackupDB makes a fresh database with the shared language "en", with a login holding app and reader.
func useBackupDB(t *testing.T) *backupDB {
	t.Helper()
	db := pgtest.New(t)
	b := &backupDB{db: db, loginURL: db.LoginURL(t, "app", "reader")}
	pool, err := pgxpool.New(t.Context(), b.loginURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	b.runner = pgtx.New(pool)
	b.admin(t, `INSERT INTO content_language (code, name) VALUES ('en', 'English')`)
	return b
}

// testBackupKey is the BACKUP_KEY of the CLI in these tests, and cliTrust what verifies its files.
const testBackupKey = "cli-test-backup-key-0123456789abcdef"

var cliTrust = func() backup.Trust {
	k, err := backup.NewKey([]byte(testBackupKey))
	if err != nil {
		panic(err)
	}
	return backup.Trust{Key: k}
}()

// env is an environment that points the CLI at b: DATABASE_URL (the login), ADMIN_DATABASE_URL (the owner),
// with BACKUP_KEY set.
func (b *backupDB) env() cliEnv {
	return cliEnv{"BACKUP_KEY": testBackupKey, "DATABASE_URL": b.loginURL, "ADMIN_DATABASE_URL": b.db.OwnerURL,
		"POLICIES_FILE": "../../policies.hcl"}
}

// admin runs sql as the superuser: setup only.
func (b *backupDB) admin(t *testing.T, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), b.db.AdminURL)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	_, err = conn.Exec(t.Context(), sql)
	require.NoError(t, err)
}

// tenant registers a tenant through the CLI and returns its id.
func (b *backupDB) tenant(t *testing.T, identifier string) string {
	t.Helper()
	code, stdout, stderr := pgtenant(t, b.env(), "tenant", "create", "--identifier", identifier, "--name", identifier, "--created-by", "test")
	require.Equal(t, exitOK, code, stderr)
	return strings.TrimSpace(stdout)
}

// seed writes a row or more in every tenant table for tenant, each text carrying mark, as the app role.
func (b *backupDB) seed(t *testing.T, tenant, mark string) {
	t.Helper()
	s := pgtx.Scope{Setting: "app.current_tenant_id", Tenant: tenant, Role: "app"}
	require.NoError(t, b.runner.Tx(t.Context(), s, func(ctx context.Context, tx pgx.Tx) (bool, error) {
		_, err := tx.Exec(ctx, `
			WITH ns AS (INSERT INTO content_namespace (slug, name, language_code) VALUES ($1 || '-site', $1, 'en') RETURNING id),
			     cat AS (INSERT INTO content_category (namespace_id, slug, name) SELECT id, $1 || '-cat', 'Cat' FROM ns RETURNING id),
			     tag AS (INSERT INTO content_tag (namespace_id, slug, name) SELECT id, $1 || '-tag', 'Tag' FROM ns RETURNING id),
			     obj AS (INSERT INTO object_storage_objectinstance (bucket, object_key, size_bytes)
			             VALUES ('media', $1 || '/a.png', 42) RETURNING id),
			     med AS (INSERT INTO file_manager_mediafile (object_id, title, uploaded_by) SELECT id, $1 || ' image', $1 FROM obj RETURNING id),
			     thm AS (INSERT INTO webpages_pagetheme (name) VALUES ($1 || '-theme') RETURNING id),
			     pg AS (INSERT INTO webpages_webpage (namespace_id, category_id, theme_id, hero_media_id, slug, title, body)
			            SELECT ns.id, cat.id, thm.id, med.id, $1 || '-home', 'Home of ' || $1, E'two\nlines'
			              FROM ns, cat, thm, med RETURNING id)
			INSERT INTO webpages_webpage_tags (webpage_id, tag_id) SELECT pg.id, tag.id FROM pg, tag`, mark)
		return true, err
	}))
}

func TestBackupRestore(t *testing.T) {
	t.Parallel()
	src := useBackupDB(t)
	alpha := src.tenant(t, "alpha")
	beta := src.tenant(t, "beta")
	src.seed(t, alpha, "alpha")
	src.seed(t, beta, "beta")
	dir := t.TempDir()
	path := filepath.Join(dir, "alpha.backup")

	env := src.env()
	code, stdout, stderr := pgtenant(t, env, "backup", "--tenant", "alpha", "-o", path)
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stdout)
	assert.Regexp(t, `^Backed up tenant alpha \(`+alpha+`\) as role app: 8 rows in 8 tables, schema version 1, to `+
		regexp.QuoteMeta(path)+`; authenticated with BACKUP_KEY \(key id `+cliTrust.Key.ID()+`\), not encrypted\.\n$`, stderr)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "tenant data is readable by its owner only")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left behind")
	file, err := os.ReadFile(path)
	require.NoError(t, err)
	m, err := backup.Verify(bytes.NewReader(file), cliTrust)
	require.NoError(t, err)
	assert.NotContains(t, string(file), "beta")
	assert.NotContains(t, string(file), beta)

	// Without -o the backup goes to stdout, and the note to stderr.
	code, stdout, stderr = pgtenant(t, env, "backup", "--tenant", alpha)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "to stdout; ")
	m2, err := backup.Verify(strings.NewReader(stdout), cliTrust)
	require.NoError(t, err)
	assert.Equal(t, m.Tables, m2.Tables)

	// Into another database, under another tenant.
	dst := useBackupDB(t)
	gamma := dst.tenant(t, "gamma")
	env = dst.env()
	code, stdout, stderr = pgtenant(t, env, "restore", "--tenant", "gamma", path)
	require.Equal(t, exitOK, code, stderr)
	assert.Regexp(t, `^Restored 8 rows in 8 tables into tenant gamma \(`+gamma+`\), from the backup of tenant alpha `+
		`made \S+ \(schema version 1, HMAC verified with BACKUP_KEY, key id `+cliTrust.Key.ID()+`\)\.\n$`, stdout)
	code, stdout, stderr = pgtenant(t, env, "backup", "--tenant", "gamma")
	require.Equal(t, exitOK, code, stderr)
	restored, err := backup.Verify(strings.NewReader(stdout), cliTrust)
	require.NoError(t, err)
	assert.Equal(t, m.Tables, restored.Tables, "the same rows: same counts and checksums")

	// Again: the tenant has rows now.
	code, stdout, stderr = pgtenant(t, env, "restore", "--tenant", "gamma", path)
	assert.Equal(t, exitFailure, code)
	assert.Empty(t, stdout)
	assert.Regexp(t, `^pgtenant restore: tenant gamma already has rows \(in table \w+\): nothing was written\. `+
		`Pass --replace`, stderr)
	code, _, stderr = pgtenant(t, env, "restore", "--tenant", "gamma", "--replace", path)
	assert.Equal(t, exitOK, code, stderr)

	// From stdin, into a third tenant.
	dst.tenant(t, "delta")
	var out, errb bytes.Buffer
	code = run(t.Context(), []string{"restore", "--tenant", "delta", "-"}, env.get, bytes.NewReader(file), &out, &errb)
	assert.Equal(t, exitOK, code, errb.String())
	assert.Contains(t, out.String(), "Restored 8 rows in 8 tables into tenant delta")

	// Damaged files are refused, and nothing is written.
	dst.tenant(t, "epsilon")
	flipped := bytes.Clone(file)
	flipped[bytes.Index(flipped, []byte("alpha-home"))] ^= 1
	for name, bad := range map[string][]byte{"flipped": flipped, "truncated": file[:len(file)*2/3]} {
		badPath := filepath.Join(dir, name+".backup")
		require.NoError(t, os.WriteFile(badPath, bad, 0o600))
		code, stdout, stderr = pgtenant(t, env, "restore", "--tenant", "epsilon", badPath)
		assert.Equal(t, exitFailure, code, name)
		assert.Empty(t, stdout)
		assert.Regexp(t, `^pgtenant restore: corrupt backup file: .*: nothing was written\n$`, stderr, name)
		code = run(t.Context(), []string{"restore", "--tenant", "epsilon", "-"}, env.get, bytes.NewReader(bad), &out, &errb)
		assert.Equal(t, exitFailure, code, "from stdin too: %s", name)
	}
	code, stdout, _ = pgtenant(t, env, "backup", "--tenant", "epsilon")
	require.Equal(t, exitOK, code)
	empty, err := backup.Verify(strings.NewReader(stdout), cliTrust)
	require.NoError(t, err)
	assert.Zero(t, empty.Rows, "epsilon has no rows")

	// A database at another schema version.
	dst.admin(t, `UPDATE schema_migrations SET version = 2`)
	code, _, stderr = pgtenant(t, env, "restore", "--tenant", "epsilon", path)
	assert.Equal(t, exitFailure, code)
	assert.Equal(t, "pgtenant restore: backup is from schema version 1, this database is at 2: nothing was written\n", stderr)
}

func TestBackupRestore_Usage(t *testing.T) {
	t.Parallel()
	src := useBackupDB(t)
	src.tenant(t, "alpha")
	env := src.env()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"backup without a tenant", []string{"backup"}, exitUsage, "--tenant is required"},
		{"backup with an argument", []string{"backup", "--tenant", "alpha", "extra"}, exitUsage, `unexpected argument "extra"`},
		{"restore without a file", []string{"restore", "--tenant", "alpha"}, exitUsage, "name the backup file"},
		{"restore with two files", []string{"restore", "--tenant", "alpha", "a", "b"}, exitUsage, `unexpected argument "b"`},
		{"restore without a tenant", []string{"restore", "f"}, exitUsage, "--tenant is required"},
		{"an unknown role", []string{"backup", "--tenant", "alpha", "--role", "admin"}, exitUsage,
			`--role "admin" is not a role of ../../policies.hcl; declared roles: app, reader`},
		{"a role that cannot write", []string{"restore", "--tenant", "alpha", "--role", "reader", "f"}, exitUsage,
			"--role reader does not hold INSERT, which restore needs"},
		{"an unknown tenant", []string{"backup", "--tenant", "nope"}, exitFailure, `pgtenant backup: unknown tenant "nope"`},
		{"a missing file", []string{"restore", "--tenant", "alpha", "/nonexistent/x.backup"}, exitFailure, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := pgtenant(t, env, tt.args...)
			assert.Equal(t, tt.code, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tt.want)
		})
	}

	// A narrowed role may be asked for: the backup warns that it misses what the policies hide.
	code, _, stderr := pgtenant(t, env, "backup", "--tenant", "alpha", "--role", "reader", "-o", filepath.Join(t.TempDir(), "r"))
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "warning: restrictive policies narrow what role reader sees (webpage_published_only, "+
		"mediafile_published_only): rows they hide are left out")

	env["DATABASE_URL"] = src.db.LoginURL(t) // a login without the declared roles
	code, _, stderr = pgtenant(t, env, "backup", "--tenant", "alpha")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, `permission denied to set role "app"`)
	assert.Contains(t, stderr, "GRANT app TO <login>")

	env["DATABASE_URL"] = ""
	code, _, stderr = pgtenant(t, env, "backup", "--tenant", "alpha")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "pgtenant backup: DATABASE_URL is not set")

	// A failed backup leaves no file behind.
	env = src.env()
	dir := t.TempDir()
	src.admin(t, `REVOKE SELECT ON webpages_webpage_tags FROM app`)
	code, _, stderr = pgtenant(t, env, "backup", "--tenant", "alpha", "-o", filepath.Join(dir, "x"))
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "permission denied")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}
