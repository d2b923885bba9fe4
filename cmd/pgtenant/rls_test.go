package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRLS flips row-level security off and on through the CLI, as an operator would in an emergency.
func TestRLS(t *testing.T) {
	t.Parallel()
	_, env, _ := deployment(t)
	env["LOG_FORMAT"] = "json"
	row := func(stdout, table string) string {
		m := regexp.MustCompile(`(?m)^` + table + `\s+(.*)$`).FindStringSubmatch(stdout)
		require.NotNil(t, m, stdout)
		return strings.Join(strings.Fields(m[1]), " ")
	}

	code, stdout, stderr := pgtenant(t, env, "rls", "status")
	require.Equal(t, exitOK, code, stderr)
	assert.Regexp(t, `^TABLE\s+RLS\s+FORCED\s+POLICIES\s+DECLARED\s+OWNER\n`, stdout)
	assert.Equal(t, "on on 4 tenant pgtest_owner", row(stdout, "webpages_webpage"))
	assert.Equal(t, "on on 1 shared pgtest_owner", row(stdout, "content_language"))
	assert.Equal(t, "off off 0 no pgtest_owner", row(stdout, "schema_migrations"))

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"rls", "disable", "--table", "webpages_webpage"}, "refusing without --i-understand"},
		{[]string{"rls", "disable", "--i-understand"}, "--table is required"},
		{[]string{"rls", "sideways"}, `unknown action "sideways"`},
	} {
		code, _, stderr = pgtenant(t, env, tt.args...)
		assert.Equal(t, exitUsage, code, tt.args)
		assert.Contains(t, stderr, tt.want)
	}
	_, stdout, _ = pgtenant(t, env, "rls", "status")
	assert.Equal(t, "on on 4 tenant pgtest_owner", row(stdout, "webpages_webpage"), "a refused disable changes nothing")

	code, _, stderr = pgtenant(t, env, "rls", "disable", "--table", "nope", "--i-understand")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, `no such table in schema public: "nope"`)

	code, stdout, stderr = pgtenant(t, env, "rls", "disable", "--table", "webpages_webpage", "--i-understand")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "Row-level security disabled on public.webpages_webpage")
	assert.Contains(t, stderr, "WARNING: row-level security is OFF on public.webpages_webpage.\n")
	assert.Contains(t, stderr, "pgtenant rls enable --table webpages_webpage")
	assert.Regexp(t, `\{"time":"[^"]+","level":"WARN","msg":"row-level security disabled","table":"public.webpages_webpage","operator":"[^"]+@[^"]+","db_user":"pgtest_owner"\}`, stderr,
		"who and when, as one JSON log line")

	code, stdout, _ = pgtenant(t, env, "rls", "status")
	assert.Equal(t, exitFailure, code, "a declared table without row-level security")
	assert.Equal(t, "off off 4 tenant pgtest_owner", row(stdout, "webpages_webpage"))
	assert.Contains(t, stdout, "1 declared table(s) without row-level security enabled and forced: webpages_webpage.")

	code, stdout, _ = pgtenant(t, env, "verify")
	assert.Equal(t, exitFailure, code, "verify fails while row-level security is off")
	assert.Contains(t, stdout, "✗ RLS: enabled and forced on every declared table — table public.webpages_webpage "+
		"has row-level security neither enabled nor forced")

	code, stdout, stderr = pgtenant(t, env, "rls", "enable", "--table", "webpages_webpage")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "Row-level security enabled and forced on public.webpages_webpage.\n", stdout)
	assert.Contains(t, stderr, `"msg":"row-level security enabled and forced"`)
	_, stdout, _ = pgtenant(t, env, "rls", "status")
	assert.Equal(t, "on on 4 tenant pgtest_owner", row(stdout, "webpages_webpage"))

	// Without --table: every declared table.
	for _, table := range []string{"content_tag", "content_language"} {
		code, _, _ = pgtenant(t, env, "rls", "disable", "--table", table, "--i-understand")
		require.Equal(t, exitOK, code)
	}
	code, stdout, _ = pgtenant(t, env, "rls", "enable")
	require.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "public.content_language, public.content_namespace")
	code, _, _ = pgtenant(t, env, "rls", "status")
	assert.Equal(t, exitOK, code)
	code, _, _ = pgtenant(t, env, "verify")
	assert.Equal(t, exitOK, code)
}
