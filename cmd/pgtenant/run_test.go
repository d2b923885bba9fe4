package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/internal/pglocal"
)

// cliEnv is the environment a test runs the CLI with, by variable name: run reads it through getenv, and nothing
// of the test process's own environment reaches the command, so tests run side by side.
type cliEnv map[string]string

func (env cliEnv) get(name string) string { return env[name] }

// with returns a copy of env with the variables given as name, value pairs: a subtest's own environment.
func (env cliEnv) with(kv ...string) cliEnv {
	out := maps.Clone(env)
	if out == nil {
		out = cliEnv{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// pgtenant runs the CLI in-process with the environment env and returns its exit code and output.
func pgtenant(t *testing.T, env cliEnv, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, env.get, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// project copies the declaration and migrations into a temporary directory and points env at it, so that tests
// can change them.
func project(t *testing.T, env cliEnv) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile("../../policies.hcl")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "policies.hcl"), src, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "migrations"), 0o755))
	files, err := filepath.Glob("../../migrations/*")
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "migrations", filepath.Base(f)), b, 0o644))
	}
	env["POLICIES_FILE"] = filepath.Join(dir, "policies.hcl")
	env["MIGRATIONS_DIR"] = filepath.Join(dir, "migrations")
	return dir
}

func TestRun_Usage(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "Usage: pgtenant"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"validate", "-nope"}, exitUsage, "flag provided but not defined"},
		{[]string{"validate", "extra.hcl"}, exitUsage, "Usage: pgtenant validate"},
		{[]string{"migrate"}, exitUsage, "Usage: pgtenant migrate"},
		{[]string{"migrate", "sideways"}, exitUsage, `unknown action "sideways"`},
		{[]string{"migrate", "down"}, exitUsage, "down needs the number"},
		{[]string{"migrate", "down", "zero"}, exitUsage, "want a whole number"},
		{[]string{"generate", "--name", "Bad Name"}, exitUsage, "--name"},
		{[]string{"help", "nope"}, exitUsage, `no command "nope"`},
		{[]string{"tenant", "frobnicate"}, exitUsage, `unknown action "frobnicate"`},
		{[]string{"migrate", "up", "extra"}, exitUsage, `up takes no argument, got "extra"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := pgtenant(t, env, tt.args...)
			assert.Equal(t, tt.code, code)
			assert.Contains(t, stderr, tt.want)
			assert.Empty(t, stdout, "mistakes go to stderr")
		})
	}
}

func TestRun_BadConfig(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"ADMIN_DATABASE_URL", "DEV_DATABASE_URL"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := pgtenant(t, cliEnv{name: "mysql://root:hunter2@db/app"}, "validate")
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, stderr, name+": want a URL like postgres://")
			assert.NotContains(t, stderr, "hunter2", "a password is never printed")
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	dir := project(t, env)
	code, stdout, stderr := pgtenant(t, env, "validate", "-offline")
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "valid")

	// Three different mistakes: all three are reported, each at file:line:col
	// with a snippet of the offending line.
	path := filepath.Join(dir, "policies.hcl")
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	bad := strings.Replace(string(src), "columns = [column.slug]", "columns = [column.slugg]", 1)
	bad = strings.Replace(bad, "on_delete  = SET_NULL", "on_delete  = SET_NUL", 1)
	bad = strings.Replace(bad, `privileges = [SELECT]`, `privileges = [SELEC]`, 1)
	require.NotEqual(t, string(src), bad)
	require.NoError(t, os.WriteFile(path, []byte(bad), 0o644))

	// The static checks fail, so no database is needed: there is nothing to apply.
	env["DEV_DATABASE_URL"] = unreachable
	code, _, stderr = pgtenant(t, env, "validate")
	assert.Equal(t, exitFailure, code)
	locs := regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(path)+`:\d+:\d+: error: (.+)$`).FindAllStringSubmatch(stderr, -1)
	require.Len(t, locs, 3, stderr)
	assert.Equal(t, "Invalid privilege", locs[0][1], "diagnostics come in file order")
	assert.Equal(t, "Invalid on_delete action", locs[1][1])
	assert.Equal(t, "Unknown column", locs[2][1])
	assert.Contains(t, stderr, `Did you mean "slug"?`)
	assert.Contains(t, stderr, `Did you mean "SET_NULL"?`)
	assert.Contains(t, stderr, `Did you mean "SELECT"?`)
	assert.Contains(t, stderr, "columns = [column.slugg]", "the snippet shows the offending line")
	assert.Contains(t, stderr, "3 error(s) found.")
}

func TestValidate_JSON(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	dir := project(t, env)
	path := filepath.Join(dir, "policies.hcl")
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(src), "[column.slug]", "[column.slugg]", 1)), 0o644))

	env["DEV_DATABASE_URL"] = unreachable
	code, stdout, _ := pgtenant(t, env, "validate", "-json")
	assert.Equal(t, exitFailure, code)
	var got jsonValidate
	require.NoError(t, json.Unmarshal([]byte(stdout), &got), stdout)
	assert.Equal(t, "1.0", got.FormatVersion)
	assert.False(t, got.Valid)
	assert.Equal(t, 1, got.ErrorCount)
	require.Len(t, got.Diagnostics, 1)
	d := got.Diagnostics[0]
	assert.Equal(t, "error", d.Severity)
	assert.Equal(t, "Unknown column", d.Summary)
	require.NotNil(t, d.Range)
	assert.Equal(t, path, d.Range.Filename)
	require.NotNil(t, d.Snippet)
	assert.Contains(t, d.Snippet.Code, "column.slugg")
	assert.Equal(t, "column.slugg", d.Snippet.Code[d.Snippet.HighlightStartOffset:d.Snippet.HighlightEndOffset])
	require.NotNil(t, d.Snippet.Context)
	assert.Contains(t, *d.Snippet.Context, `table "content_namespace"`)

	project(t, env)
	code, stdout, _ = pgtenant(t, env, "validate", "-json", "-offline")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, `"valid": true`)
}

// unreachable is a DEV_DATABASE_URL nothing listens on: connecting to it fails at once.
const unreachable = "postgres://nobody:secret@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5"

// TestValidate_SQL checks the SQL fragments on DEV_DATABASE_URL: a policy's using names an unknown column.
func TestValidate_SQL(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	dir := project(t, env)
	env["DEV_DATABASE_URL"] = devServer(t) // a non-superuser with CREATEDB CREATEROLE, as in production
	code, stdout, stderr := pgtenant(t, env, "validate")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "the declaration is valid")
	assert.Empty(t, stderr)

	path := filepath.Join(dir, "policies.hcl")
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	bad := strings.Replace(string(src), `using = "is_published"`, `using = "is_publishd"`, 1)
	require.NotEqual(t, string(src), bad)
	require.NoError(t, os.WriteFile(path, []byte(bad), 0o644))
	i := strings.Index(bad, "is_publishd")
	line, col := strings.Count(bad[:i], "\n")+1, i-strings.LastIndex(bad[:i], "\n")

	code, _, stderr = pgtenant(t, env, "validate")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, fmt.Sprintf("%s:%d:%d: error: Invalid SQL\n", path, line, col),
		"the diagnostic points at the unknown name in the using string")
	assert.Contains(t, stderr, `column "is_publishd" does not exist (SQLSTATE 42703).`)
	assert.Contains(t, stderr, `using = "is_publishd"`, "the snippet shows the offending line")
	assert.Contains(t, stderr, "1 error(s) found.")

	code, stdout, _ = pgtenant(t, env, "validate", "-json")
	assert.Equal(t, exitFailure, code)
	var got jsonValidate
	require.NoError(t, json.Unmarshal([]byte(stdout), &got), stdout)
	assert.Equal(t, 1, got.ErrorCount)
	require.Len(t, got.Diagnostics, 1)
	d := got.Diagnostics[0]
	assert.Equal(t, "Invalid SQL", d.Summary)
	require.NotNil(t, d.Snippet)
	assert.Equal(t, "is_publishd", d.Snippet.Code[d.Snippet.HighlightStartOffset:d.Snippet.HighlightEndOffset])

	code, _, stderr = pgtenant(t, env, "validate", "-offline")
	assert.Equal(t, exitOK, code, "-offline skips the database check: %s", stderr)
}

// TestValidate_NotChecked: a DEV_DATABASE_URL that cannot be reached makes validate fail, since it was asked for.
func TestValidate_NotChecked(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	project(t, env)
	env["DEV_DATABASE_URL"] = unreachable
	code, stdout, stderr := pgtenant(t, env, "validate")
	assert.Equal(t, exitFailure, code)
	assert.NotContains(t, stdout, "valid")
	assert.Contains(t, stderr, "error: SQL not checked")
	assert.Contains(t, stderr, "DEV_DATABASE_URL")
	assert.NotContains(t, stderr, "secret", "a password is never printed")

	code, _, stderr = pgtenant(t, env, "validate", "-offline")
	assert.Equal(t, exitOK, code, stderr)
}

// TestValidate_ThrowawayServer: without DEV_DATABASE_URL, validate starts a private server when PostgreSQL is
// installed, and else warns that the SQL was not checked. Either way a valid declaration passes. The server goes
// under TMPDIR, a directory of this test's own, and is removed from it.
func TestValidate_ThrowawayServer(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	project(t, env)
	root := t.TempDir()
	env["TMPDIR"] = root
	env["DEV_DATABASE_URL"] = ""
	code, stdout, _ := pgtenant(t, env, "validate", "-json")
	assert.Equal(t, exitOK, code)
	var got jsonValidate
	require.NoError(t, json.Unmarshal([]byte(stdout), &got), stdout)
	assert.True(t, got.Valid)
	assert.Zero(t, got.ErrorCount)
	if _, err := pglocal.BinDir(); err != nil {
		require.NotEqual(t, "1", os.Getenv("PGTEST_REQUIRED"), "no PostgreSQL binaries: %v", err)
		assert.Equal(t, 1, got.WarningCount)
		require.Len(t, got.Diagnostics, 1)
		assert.Equal(t, "warning", got.Diagnostics[0].Severity)
		assert.Equal(t, "SQL not checked", got.Diagnostics[0].Summary)
		assert.Contains(t, got.Diagnostics[0].Detail, "DEV_DATABASE_URL")
		return
	}
	assert.Zero(t, got.WarningCount, "%+v", got.Diagnostics)
	assert.Empty(t, got.Diagnostics)
	assertEmptyDir(t, root, "the throwaway server's directory is removed")
}

// assertEmptyDir checks that dir, a directory of the test's own, holds nothing.
func assertEmptyDir(t *testing.T, dir, msg string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Empty(t, names, msg)
}

// TestScratchDir: TMPDIR, when set, is where throwaway servers and drill files go, so that a test (or a user) can
// give them a directory of its own; without it, /dev/shm or /tmp. It is read from the command's environment, as the
// spool directory of serve is.
func TestScratchDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	cfg, problems := LoadConfig(DefaultConfig(), cliEnv{"TMPDIR": root}.get)
	require.Empty(t, problems)
	assert.Equal(t, root, cfg.TempDir, "TMPDIR is read into the configuration")
	assert.Equal(t, root, cfg.scratchDir())
	assert.Equal(t, root, cfg.spoolDir())
	assert.Contains(t, []string{"/dev/shm", "/tmp"}, DefaultConfig().scratchDir())
	assert.Equal(t, "/tmp", DefaultConfig().spoolDir())
}

func TestFmt(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	dir := project(t, env)
	code, stdout, _ := pgtenant(t, env, "fmt", "-check")
	assert.Equal(t, exitOK, code, "policies.hcl is canonically formatted")
	assert.Empty(t, stdout)

	path := filepath.Join(dir, "policies.hcl")
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	messy := strings.Replace(string(src), `column  = "tenant_id"`, `column="tenant_id"`, 1)
	require.NoError(t, os.WriteFile(path, []byte(messy), 0o644))

	code, stdout, _ = pgtenant(t, env, "fmt", "-check")
	assert.Equal(t, exitFmt, code)
	assert.Contains(t, stdout, path)
	after, _ := os.ReadFile(path)
	assert.Equal(t, messy, string(after), "-check changes nothing")

	code, _, _ = pgtenant(t, env, "fmt")
	assert.Equal(t, exitOK, code)
	after, _ = os.ReadFile(path)
	assert.Equal(t, string(src), string(after))

	require.NoError(t, os.WriteFile(path, []byte("table \"x\" {\n"), 0o644))
	code, _, stderr := pgtenant(t, env, "fmt")
	assert.Equal(t, exitFailure, code, "a file that does not parse is not formatted")
	assert.Contains(t, stderr, path+":")
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	dir := project(t, env)
	code, stdout, stderr := pgtenant(t, env, "generate", "--check")
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "up to date")

	code, stdout, _ = pgtenant(t, env, "generate")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "No changes")

	// A new column makes a migration due.
	path := filepath.Join(dir, "policies.hcl")
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	changed := strings.Replace(string(src), `  column "title" { type = text }`, "  column \"title\" { type = text }\n  column \"subtitle\" {\n    type = text\n    null = true\n  }", 1)
	require.NotEqual(t, string(src), changed)
	require.NoError(t, os.WriteFile(path, []byte(changed), 0o644))
	code, _, stderr = pgtenant(t, env, "generate", "--check")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "out of date")

	// A hand-edited migration is stale.
	require.NoError(t, os.WriteFile(path, src, 0o644))
	up := filepath.Join(dir, "migrations", "000001_init.up.sql")
	b, err := os.ReadFile(up)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(up, append(b, "-- edited\n"...), 0o644))
	code, _, stderr = pgtenant(t, env, "generate", "--check")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "000001_init.up.sql")
}

func TestGenerate_FromScratch(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	dir := project(t, env)
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "migrations")))
	code, stdout, stderr := pgtenant(t, env, "generate")
	require.Equal(t, exitOK, code, stderr)
	for _, f := range []string{"000001_init.up.sql", "000001_init.down.sql", "schema.json"} {
		assert.Contains(t, stdout, f)
		got, err := os.ReadFile(filepath.Join(dir, "migrations", f))
		require.NoError(t, err)
		want, err := os.ReadFile(filepath.Join("../../migrations", f))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "the committed %s is what generate writes", f)
	}
}

// TestValidate_NoDeclaration: without a declaration, the error says which setting points at it.
func TestValidate_NoDeclaration(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	env["POLICIES_FILE"] = filepath.Join(t.TempDir(), "policies.hcl")
	code, _, stderr := pgtenant(t, env, "validate", "-offline")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "error: No declaration")
	assert.Contains(t, stderr, "Set POLICIES_FILE to the declaration")

	code, stdout, _ := pgtenant(t, env, "validate", "-offline", "-json")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stdout, "Set POLICIES_FILE")
}
