package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pgtenant runs the CLI in-process and returns its exit code and output.
func pgtenant(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// project copies the declaration and migrations into a temporary directory
// and points the CLI at it, so that tests can change them.
func project(t *testing.T) string {
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
	t.Setenv("POLICIES_FILE", filepath.Join(dir, "policies.hcl"))
	t.Setenv("MIGRATIONS_DIR", filepath.Join(dir, "migrations"))
	return dir
}

func TestRun_Usage(t *testing.T) {
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
		{[]string{"migrate", "sideways"}, exitUsage, `unknown subcommand "sideways"`},
		{[]string{"migrate", "down"}, exitUsage, "down needs the number"},
		{[]string{"migrate", "down", "zero"}, exitUsage, "want a whole number"},
		{[]string{"generate", "--name", "Bad Name"}, exitUsage, "--name"},
		{[]string{"help"}, exitOK, "Commands:"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := pgtenant(t, tt.args...)
			assert.Equal(t, tt.code, code)
			assert.Contains(t, stderr, tt.want)
		})
	}
}

func TestRun_BadConfig(t *testing.T) {
	t.Setenv("ADMIN_DATABASE_URL", "mysql://root:hunter2@db/app")
	code, _, stderr := pgtenant(t, "validate")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "ADMIN_DATABASE_URL: want a URL like postgres://")
	assert.NotContains(t, stderr, "hunter2", "a password is never printed")
}

func TestValidate(t *testing.T) {
	dir := project(t)
	code, stdout, stderr := pgtenant(t, "validate")
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

	code, _, stderr = pgtenant(t, "validate")
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
	dir := project(t)
	path := filepath.Join(dir, "policies.hcl")
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(src), "[column.slug]", "[column.slugg]", 1)), 0o644))

	code, stdout, _ := pgtenant(t, "validate", "-json")
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

	project(t)
	code, stdout, _ = pgtenant(t, "validate", "-json")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, `"valid": true`)
}

func TestFmt(t *testing.T) {
	dir := project(t)
	code, stdout, _ := pgtenant(t, "fmt", "-check")
	assert.Equal(t, exitOK, code, "policies.hcl is canonically formatted")
	assert.Empty(t, stdout)

	path := filepath.Join(dir, "policies.hcl")
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	messy := strings.Replace(string(src), `column  = "tenant_id"`, `column="tenant_id"`, 1)
	require.NoError(t, os.WriteFile(path, []byte(messy), 0o644))

	code, stdout, _ = pgtenant(t, "fmt", "-check")
	assert.Equal(t, exitFmt, code)
	assert.Contains(t, stdout, path)
	after, _ := os.ReadFile(path)
	assert.Equal(t, messy, string(after), "-check changes nothing")

	code, _, _ = pgtenant(t, "fmt")
	assert.Equal(t, exitOK, code)
	after, _ = os.ReadFile(path)
	assert.Equal(t, string(src), string(after))

	require.NoError(t, os.WriteFile(path, []byte("table \"x\" {\n"), 0o644))
	code, _, stderr := pgtenant(t, "fmt")
	assert.Equal(t, exitFailure, code, "a file that does not parse is not formatted")
	assert.Contains(t, stderr, path+":")
}

func TestGenerate(t *testing.T) {
	dir := project(t)
	code, stdout, stderr := pgtenant(t, "generate", "--check")
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "up to date")

	code, stdout, _ = pgtenant(t, "generate")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "No changes")

	// A new column makes a migration due.
	path := filepath.Join(dir, "policies.hcl")
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	changed := strings.Replace(string(src), `  column "title" { type = text }`, "  column \"title\" { type = text }\n  column \"subtitle\" {\n    type = text\n    null = true\n  }", 1)
	require.NotEqual(t, string(src), changed)
	require.NoError(t, os.WriteFile(path, []byte(changed), 0o644))
	code, _, stderr = pgtenant(t, "generate", "--check")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "out of date")

	// A hand-edited migration is stale.
	require.NoError(t, os.WriteFile(path, src, 0o644))
	up := filepath.Join(dir, "migrations", "000001_init.up.sql")
	b, err := os.ReadFile(up)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(up, append(b, "-- edited\n"...), 0o644))
	code, _, stderr = pgtenant(t, "generate", "--check")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "000001_init.up.sql")
}

func TestGenerate_FromScratch(t *testing.T) {
	dir := project(t)
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "migrations")))
	code, stdout, stderr := pgtenant(t, "generate")
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
