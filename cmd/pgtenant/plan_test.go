package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/internal/pglocal"
	"pgtenant/internal/pgtest"
)

// devServer returns a DEV_DATABASE_URL on the test cluster: a fresh login that may create databases and roles,
// and is not a superuser.
func devServer(t *testing.T) string { return pgtest.NewEmpty(t).DevServerURL(t) }

// planSQL is the SQL of plan's output: everything but the summary line.
func planSQL(stdout string) string {
	i := strings.LastIndex(stdout, "\nPlan: ")
	if i < 0 {
		return ""
	}
	return stdout[:i+1]
}

// TestPlan_DetailedExitCode is acceptance 3 of issue 6: after RLS is disabled by hand on content_tag, plan exits
// 2 with -detailed-exitcode and prints the statement that restores it; once that SQL ran, it exits 0.
func TestPlan_DetailedExitCode(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	db := pgtest.New(t)
	env["ADMIN_DATABASE_URL"] = db.OwnerURL
	env["DEV_DATABASE_URL"] = devServer(t)
	env["POLICIES_FILE"] = "../../policies.hcl"

	code, stdout, stderr := pgtenant(t, env, "plan", "-detailed-exitcode")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "No changes. The database matches ../../policies.hcl.\n", stdout)

	pgtest.ExecScript(t, db.Owner, "ALTER TABLE content_tag DISABLE ROW LEVEL SECURITY")
	code, stdout, stderr = pgtenant(t, env, "plan", "-detailed-exitcode")
	assert.Equal(t, exitChanges, code, stderr)
	assert.Contains(t, stdout, "-- table public.content_tag: row-level security is disabled\n"+
		"ALTER TABLE public.content_tag ENABLE ROW LEVEL SECURITY;\n")
	assert.True(t, strings.HasSuffix(stdout, "\nPlan: 1 change.\n"), stdout)
	t.Logf("pgtenant plan -detailed-exitcode (exit %d):\n%s", code, stdout)

	code, _, stderr = pgtenant(t, env, "plan")
	assert.Equal(t, exitOK, code, "without -detailed-exitcode changes exit 0: %s", stderr)

	pgtest.ExecScript(t, db.Owner, planSQL(stdout))
	code, stdout, stderr = pgtenant(t, env, "plan", "-detailed-exitcode")
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "No changes.")
}

// TestPlan_ThrowawayServer: without DEV_DATABASE_URL the declaration is applied on a private server, another
// cluster than the live database's, and a table made by hand on the live database is reported. The server goes
// under TMPDIR, a directory of this test's own, and is removed from it.
func TestPlan_ThrowawayServer(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	if _, err := pglocal.BinDir(); err != nil {
		require.NotEqual(t, "1", os.Getenv("PGTEST_REQUIRED"), "no PostgreSQL binaries: %v", err)
		t.Skip("no PostgreSQL binaries")
	}
	db := pgtest.New(t)
	root := t.TempDir()
	env["TMPDIR"] = root
	env["ADMIN_DATABASE_URL"] = db.OwnerURL
	env["DEV_DATABASE_URL"] = ""
	env["POLICIES_FILE"] = "../../policies.hcl"
	pgtest.ExecScript(t, db.Owner, "CREATE TABLE public.scratchpad (id int PRIMARY KEY, note text)")

	code, stdout, stderr := pgtenant(t, env, "plan", "-detailed-exitcode")
	assert.Equal(t, exitChanges, code, stderr)
	assert.Contains(t, stdout, "-- table public.scratchpad: is not declared in policies.hcl (made by hand?); "+
		"it has no row-level security")
	assert.Contains(t, stdout, "DROP TABLE public.scratchpad;")
	assert.Contains(t, stdout, "Plan: 1 change.")
	assertEmptyDir(t, root, "the throwaway server's directory is removed")
}

func TestPlan_Errors(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	env["POLICIES_FILE"] = "../../policies.hcl"
	env["DEV_DATABASE_URL"] = unreachable

	env["ADMIN_DATABASE_URL"] = ""
	code, _, stderr := pgtenant(t, env, "plan", "-detailed-exitcode")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "pgtenant plan: ADMIN_DATABASE_URL is not set")

	env["ADMIN_DATABASE_URL"] = unreachable
	code, _, stderr = pgtenant(t, env, "plan", "-detailed-exitcode")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "pgtenant plan: connect to ADMIN_DATABASE_URL")
	assert.NotContains(t, stderr, "secret", "a password is never printed")

	code, _, stderr = pgtenant(t, env, "plan", "-detailed-exitcode", "extra")
	assert.Equal(t, exitFailure, code, "usage errors exit 1, never -detailed-exitcode's 2")
	assert.Contains(t, stderr, `unexpected argument "extra"`)
	code, _, _ = pgtenant(t, env, "plan", "-nope")
	assert.Equal(t, exitFailure, code)
	code, _, stderr = pgtenant(t, env, "plan", "-detailed-exitcode", "--dev-database-url", "mysql://dev@db/x")
	assert.Equal(t, exitFailure, code, "an invalid setting too")
	assert.Contains(t, stderr, "--dev-database-url: want a URL like postgres://")

	dir := t.TempDir()
	bad := filepath.Join(dir, "policies.hcl")
	require.NoError(t, os.WriteFile(bad, []byte(`table "t" { column "id" { type = uuid } }`), 0o644))
	env["POLICIES_FILE"] = bad
	code, _, stderr = pgtenant(t, env, "plan", "-detailed-exitcode")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "pgtenant plan: "+bad+" is not valid")

	db := pgtest.New(t)
	env["ADMIN_DATABASE_URL"] = db.OwnerURL
	env["POLICIES_FILE"] = "../../policies.hcl"
	code, _, stderr = pgtenant(t, env, "plan", "-detailed-exitcode")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "pgtenant plan: apply the declaration on DEV_DATABASE_URL")
}
