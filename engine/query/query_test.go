package query_test

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/query"
	"pgtenant/internal/golden"
	"pgtenant/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

// TestParse_Golden renders every case under testdata into its reviewed SQL
// and arguments: one case per operator and feature of the grammar.
func TestParse_Golden(t *testing.T) {
	for _, name := range caseNames(t) {
		t.Run(name, func(t *testing.T) {
			tr := readCase(t, name)
			q, err := query.Parse(tr.Request)
			require.NoError(t, err)
			sql, args := q.SQL()
			require.NoError(t, checkSQL(tr.Model, sql, args))
			checkTenantPredicate(t, tr, sql, args)
			golden.Check(t, filepath.Join("testdata", name, "want.sql"), []byte(sql+"\n"))
			js, err := json.MarshalIndent(args, "", "  ")
			require.NoError(t, err)
			golden.Check(t, filepath.Join("testdata", name, "want.args.json"), append(js, '\n'))
		})
	}
}

// checkTenantPredicate holds DESIGN.md §9 invariant 4: a statement on a
// tenant table filters on the tenant column itself; only an INSERT, which
// never names the column, does not, unless an upsert's DO UPDATE may change
// an existing row. A shared table's statement does when it embeds a tenant
// table (the case names its tenant).
func checkTenantPredicate(t *testing.T, tr testRequest, sql string, args []any) {
	t.Helper()
	if tr.Table.Shared && tr.Tenant == "" {
		assert.NotContains(t, args, testTenant)
		return
	}
	if tr.Method == "POST" && !strings.Contains(sql, "DO UPDATE") {
		return
	}
	m := regexp.MustCompile(regexp.QuoteMeta(tr.Model.Tenancy.Column)+` = \$(\d+)`).FindAllStringSubmatch(sql, -1)
	require.NotEmpty(t, m, "no tenant predicate in\n%s", sql)
	for _, g := range m {
		n, _ := strconv.Atoi(g[1])
		assert.Equal(t, tr.Tenant, args[n-1])
	}
}
