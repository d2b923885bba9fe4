package ddl_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/ddl"
	"pgtenant/engine/drift"
	"pgtenant/internal/golden"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

// TestIncremental_Applies proves every change case on PostgreSQL: a database built from the declaration before
// the change, after the up migration, has the schema of one built fresh from the declaration after it; after
// the down migration it has the schema it started with.
func TestIncremental_Applies(t *testing.T) {
	for _, name := range golden.Cases(t, changeCases) {
		t.Run(name, func(t *testing.T) {
			// Not in parallel: the cases create the same roles, and roles are cluster-wide.
			before, after := changeModels(t, name)
			mig, err := ddl.Incremental(before, after, changeOptions(name))
			require.NoError(t, err)
			r := render(mig)

			db := pgtest.NewEmpty(t)
			pgtest.ExecScript(t, db.Owner, full(t, before))
			start := readCatalog(t, db.Owner)
			for _, up := range r.up {
				pgtest.ExecScript(t, db.Owner, up)
			}
			fresh := pgtest.NewEmpty(t)
			pgtest.ExecScript(t, fresh.Owner, full(t, after))
			assertSameSchema(t, readCatalog(t, fresh.Owner), readCatalog(t, db.Owner), "after the up migration")
			for i := len(r.down) - 1; i >= 0; i-- {
				pgtest.ExecScript(t, db.Owner, r.down[i])
			}
			assertSameSchema(t, start, readCatalog(t, db.Owner), "after the down migration")
		})
	}
}

func full(t *testing.T, m *schema.Model) string {
	t.Helper()
	changes, err := ddl.Diff(nil, m)
	require.NoError(t, err)
	up, _ := ddl.Render(changes, ddl.SingleNode).Files()
	return up
}

func readCatalog(t *testing.T, pool *pgxpool.Pool) *drift.Catalog {
	t.Helper()
	c, err := drift.Read(t.Context(), pool)
	require.NoError(t, err)
	return c
}

func assertSameSchema(t *testing.T, want, got *drift.Catalog, when string) {
	t.Helper()
	var lines []string
	for _, d := range drift.Compare(want, got) {
		lines = append(lines, d.String())
	}
	assert.Empty(t, lines, "%s, the schema differs from the declaration's:\n%s", when, strings.Join(lines, "\n"))
}
