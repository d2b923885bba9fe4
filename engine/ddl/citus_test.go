package ddl_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/ddl"
	"pgtenant/internal/golden"
	"pgtenant/schema"
)

// citusCreateCases and citusChangeCases are the golden cases of the Citus profile: a declaration and its first
// migration; the declarations a change adds to the cms create case (add.hcl) and the migration that adds them.
const (
	citusCreateCases = "testdata/citus/create"
	citusChangeCases = "testdata/citus/change"
)

// citusChange is the migration of the Citus change case name: from the cms create case to that case plus add.hcl.
func citusChange(t *testing.T, name string) *ddl.Migration {
	t.Helper()
	base := filepath.Join(citusCreateCases, "cms", "input.hcl")
	before := load(t, base)
	after, _, diags := schema.Load(base, filepath.Join(citusChangeCases, name, "add.hcl"))
	require.False(t, diags.HasErrors(), "%s: %s", name, diags.Error())
	mig, err := ddl.Incremental(before, after, ddl.Options{})
	require.NoError(t, err)
	return mig
}

// TestCitus_Golden renders the first migration of every Citus create case and the migration of every Citus change
// case for the Citus target, and compares them with the reviewed SQL.
func TestCitus_Golden(t *testing.T) {
	for _, name := range golden.Cases(t, citusCreateCases) {
		t.Run("create/"+name, func(t *testing.T) {
			m := load(t, filepath.Join(citusCreateCases, name, "input.hcl"))
			require.Equal(t, ddl.Citus, ddl.TargetFor(m))
			changes, err := ddl.Diff(nil, m)
			require.NoError(t, err)
			up, down := ddl.Render(changes, ddl.Citus).Files()
			golden.Check(t, filepath.Join(citusCreateCases, name, "want.up.sql"), []byte(up))
			golden.Check(t, filepath.Join(citusCreateCases, name, "want.down.sql"), []byte(down))
		})
	}
	for _, name := range golden.Cases(t, citusChangeCases) {
		t.Run("change/"+name, func(t *testing.T) {
			mig := citusChange(t, name)
			require.Empty(t, mig.Concurrent)
			up, down := ddl.Render(mig.Changes, ddl.Citus).Files()
			golden.Check(t, filepath.Join(citusChangeCases, name, "want.up.sql"), []byte(up))
			golden.Check(t, filepath.Join(citusChangeCases, name, "want.down.sql"), []byte(down))
		})
	}
}

// TestCitus_Policies: on a Citus tenant table every policy is PERMISSIVE and carries the bare tenant predicate (no
// sub-select), there is one tenant policy, and a role a RESTRICTIVE declared policy narrows does not get it: it
// gets the narrowing with the tenant predicate ANDed in instead.
func TestCitus_Policies(t *testing.T) {
	m := load(t, filepath.Join(citusCreateCases, "cms", "input.hcl"))
	pred := "tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid"
	for _, tb := range m.Tables {
		if tb.Shared {
			continue
		}
		ps := ddl.Policies(m, tb)
		isolation := 0
		for _, p := range ps {
			assert.Equal(t, schema.Permissive, p.As, "%s on %s", p.Name, tb.Name)
			assert.NotContains(t, p.Using+p.Check, "SELECT", "%s on %s", p.Name, tb.Name)
			for _, clause := range []string{p.Using, p.Check} {
				if clause != "" {
					assert.Contains(t, clause, pred, "%s on %s", p.Name, tb.Name)
				}
			}
			if p.Name == schema.IsolationPolicy {
				isolation++
			}
		}
		assert.Equal(t, 1, isolation, tb.Name)
	}
	ps := ddl.Policies(m, m.Table("webpages_webpage"))
	require.Len(t, ps, 2)
	assert.Equal(t, []string{"app"}, ps[0].To, "the reader must not get the plain tenant policy")
	assert.Equal(t, "webpage_published_only", ps[1].Name)
	assert.Equal(t, []string{"reader"}, ps[1].To)
	assert.Equal(t, schema.SelectRows, ps[1].For)
	assert.Equal(t, pred+" AND (is_published)", ps[1].Using)
	ps = ddl.Policies(m, m.Table("content_tag"))
	require.Len(t, ps, 1)
	assert.Equal(t, []string{"app", "reader"}, ps[0].To)
}
