package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/tenant"
	"pgtenant/internal/pgtest"
)

// TestMigrate applies, reports and reverts the committed migrations through
// the CLI as the non-superuser owner, and checks that the down migration
// leaves the database as it found it.
func TestMigrate(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	db := pgtest.NewEmpty(t)
	before := pgtest.Catalog(t, db.Owner)
	env["ADMIN_DATABASE_URL"] = db.OwnerURL
	env["MIGRATIONS_DIR"] = "../../migrations"

	code, stdout, stderr := pgtenant(t, env, "migrate", "status")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "version:   0 (clean)")
	assert.Contains(t, stdout, "pending:   1")

	code, stdout, stderr = pgtenant(t, env, "migrate", "up")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "Migrated up from version 0 to 1.")

	code, stdout, _ = pgtenant(t, env, "migrate", "up")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "No change: the database is at version 1.")

	code, stdout, _ = pgtenant(t, env, "migrate", "status")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "version:   1 (clean)")
	assert.Contains(t, stdout, "pending:   none")
	assert.NotEqual(t, before, pgtest.Catalog(t, db.Owner))

	code, _, stderr = pgtenant(t, env, "migrate", "down", "2")
	assert.Equal(t, exitFailure, code, "more steps than applied is refused")
	assert.Contains(t, stderr, "only 1")

	code, stdout, stderr = pgtenant(t, env, "migrate", "down", "1")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "Migrated down from version 1 to 0.")
	assert.Equal(t, before, pgtest.Catalog(t, db.Owner), "the down migration removes everything the up migration made")
}

func TestMigrate_NoURL(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	env["ADMIN_DATABASE_URL"] = ""
	code, _, stderr := pgtenant(t, env, "migrate", "up")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "ADMIN_DATABASE_URL is not set")
}

// TestMigrate_Psql applies the committed files the way a DBA would, with
// psql --single-transaction, and checks what they leave behind.
func TestMigrate_Psql(t *testing.T) {
	t.Parallel()
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	db := pgtest.NewEmpty(t)
	before := pgtest.Catalog(t, db.Owner)
	apply := func(file string) {
		t.Helper()
		out, err := exec.CommandContext(t.Context(), psql, db.OwnerURL, "--single-transaction", "-v", "ON_ERROR_STOP=1",
			"-q", "-f", filepath.Join("../../migrations", file)).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	apply("000001_init.up.sql")

	rows, err := db.Owner.Query(t.Context(), `
		SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
		       EXISTS (SELECT FROM pg_policies p WHERE p.schemaname = 'public' AND p.tablename = c.relname
		               AND p.policyname = 'tenant_isolation' AND p.permissive = 'RESTRICTIVE')
		  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
		 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'`)
	require.NoError(t, err)
	tables := 0
	for rows.Next() {
		var name string
		var rls, force, policy bool
		require.NoError(t, rows.Scan(&name, &rls, &force, &policy))
		assert.True(t, rls && force && policy, "%s: rls=%v force=%v tenant_isolation=%v", name, rls, force, policy)
		tables++
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, 8, tables, "every tenant table of policies.hcl")

	apply("000001_init.down.sql")
	assert.Equal(t, before, pgtest.Catalog(t, db.Owner))
}

// TestDev runs `pgtenant dev` twice on a fresh data directory: the first run
// creates the server and applies the migrations, the second reuses both.
func TestDev(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	if _, err := os.Stat("/usr/lib/postgresql"); err != nil && os.Getenv("PGTEST_REQUIRED") != "1" {
		t.Skip("no PostgreSQL binaries")
	}
	dir := t.TempDir()
	env["PGTENANT_DATA_DIR"] = filepath.Join(dir, "pg")
	env["MIGRATIONS_DIR"] = "../../migrations"
	env["POLICIES_FILE"] = "../../policies.hcl"
	t.Cleanup(func() { stopDev(t, filepath.Join(dir, "pg")) })

	code, stdout, stderr := pgtenant(t, env, "dev", "--no-serve")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "(started;")
	assert.Contains(t, stdout, "version 0 → 1")
	assert.Contains(t, stdout, "export DATABASE_URL=")

	// A .pgtenant of an earlier version keeps a token of the earlier format
	// (no checksum), which servers refuse: the next run revokes it and makes
	// another, so that the printed curls keep working.
	demoPath := filepath.Join(dir, "pg", demoFile)
	var demos []demoTenant
	b, err := os.ReadFile(demoPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &demos))
	require.Len(t, demos, 2)
	owner := regexp.MustCompile(`export ADMIN_DATABASE_URL='([^']+)'`).FindStringSubmatch(stdout)
	require.NotNil(t, owner, stdout)
	conn, err := pgx.Connect(t.Context(), owner[1])
	require.NoError(t, err)
	defer conn.Close(t.Context())
	legacy := "pgt_" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	var legacyID string
	require.NoError(t, conn.QueryRow(t.Context(), `WITH k AS (
		INSERT INTO pgtenant.tokens (name, token_hash, role) VALUES ('demo-acme', $1, 'app') RETURNING id)
		INSERT INTO pgtenant.token_tenants (token_id, tenant_id) SELECT k.id, $2::uuid FROM k RETURNING token_id::text`,
		tenant.HashToken(legacy), demos[0].ID).Scan(&legacyID))
	globexToken := demos[1].Token
	demos[0].Token = legacy
	b, err = json.Marshal(demos)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(demoPath, b, 0o600))

	// The data directory as a flag this time: it wins over the environment's.
	code, stdout, stderr = pgtenant(t, env.with("PGTENANT_DATA_DIR", filepath.Join(dir, "elsewhere")), "dev", "--no-serve",
		"--data-dir", filepath.Join(dir, "pg"))
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "reused the running server")
	assert.NoDirExists(t, filepath.Join(dir, "elsewhere"))
	assert.Contains(t, stdout, "already at version 1")
	b, err = os.ReadFile(demoPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &demos))
	assert.NoError(t, tenant.CheckToken(demos[0].Token), "a new token for acme")
	assert.Equal(t, globexToken, demos[1].Token, "globex's token is kept")
	var revoked bool
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT revoked_at IS NOT NULL FROM pgtenant.tokens WHERE id = $1`,
		legacyID).Scan(&revoked))
	assert.True(t, revoked, "the token of the earlier format is revoked")
}
