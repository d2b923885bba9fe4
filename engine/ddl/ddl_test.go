package ddl_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/ddl"
	"pgtenant/internal/golden"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

// createCases hold one declaration each and the first migration it gives; changeCases (diff_test.go) hold a
// declaration before and after a change and the migration between them.
const createCases = "testdata/create"

func load(t *testing.T, path string) *schema.Model {
	t.Helper()
	m, _, diags := schema.Load(path)
	require.False(t, diags.HasErrors(), "%s: %s", path, diags.Error())
	return m
}

// TestPlan_Golden renders every case under testdata and compares it with the
// reviewed SQL: one case per construct of the declaration.
func TestPlan_Golden(t *testing.T) {
	for _, name := range golden.Cases(t, createCases) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(createCases, name)
			changes, err := ddl.Diff(nil, load(t, filepath.Join(dir, "input.hcl")))
			require.NoError(t, err)
			up, down := ddl.Render(changes, ddl.SingleNode).Files()
			golden.Check(t, filepath.Join(dir, "want.up.sql"), []byte(up))
			golden.Check(t, filepath.Join(dir, "want.down.sql"), []byte(down))
		})
	}
}

// TestPlan_GoldenApplies applies every golden case to a real PostgreSQL as a
// non-superuser owner, then its down file, and checks that the down file
// leaves nothing behind: the golden SQL is not only stable but valid.
func TestPlan_GoldenApplies(t *testing.T) {
	for _, name := range golden.Cases(t, createCases) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(createCases, name)
			up, err := os.ReadFile(filepath.Join(dir, "want.up.sql"))
			require.NoError(t, err)
			down, err := os.ReadFile(filepath.Join(dir, "want.down.sql"))
			require.NoError(t, err)
			db := pgtest.NewEmpty(t)
			before := pgtest.Catalog(t, db.Owner)
			pgtest.ExecScript(t, db.Owner, string(up))
			pgtest.ExecScript(t, db.Owner, string(down))
			assert.Equal(t, before, pgtest.Catalog(t, db.Owner))
		})
	}
}

func TestPlan_Deterministic(t *testing.T) {
	m := load(t, "../../policies.hcl")
	a, err := ddl.Diff(nil, m)
	require.NoError(t, err)
	b, err := ddl.Diff(nil, load(t, "../../policies.hcl"))
	require.NoError(t, err)
	assert.Equal(t, a, b)
}

func TestPlan_Unchanged(t *testing.T) {
	prev := load(t, "testdata/create/tenant-table/input.hcl")
	changes, err := ddl.Diff(prev, load(t, "testdata/create/tenant-table/input.hcl"))
	require.NoError(t, err)
	assert.Empty(t, changes, "an unchanged declaration plans nothing")
}

func TestIdent(t *testing.T) {
	tests := []struct{ in, want string }{
		{"webpages_webpage", "webpages_webpage"},
		{"order", `"order"`},
		{"user", `"user"`},
		{"position", `"position"`},
		{"Mixed", `"Mixed"`},
		{`we"ird`, `"we""ird"`},
		{"name", "name"},
		{"_x1", "_x1"},
		{"a$b", "a$b"},
		{"$a", `"$a"`},
		{"1abc", `"1abc"`},
		{"", `""`},
		{"tenant_id", "tenant_id"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, ddl.Ident(tt.in), tt.in)
	}
}

// TestRender_CommentLines checks that a change's comment cannot end early: PostgreSQL ends a -- comment at a
// carriage return as well as at a newline, and a comment may quote declared SQL ("default x → y").
func TestRender_CommentLines(t *testing.T) {
	c := ddl.Change{Comment: "Column t.c: default 0 → 1\rDROP TABLE t;\r\nDROP TABLE u;", Up: []ddl.Stmt{ddl.NoOp{Why: "up"}}, Down: []ddl.Stmt{ddl.NoOp{Why: "down"}}}
	up, down := ddl.Render([]ddl.Change{c}, ddl.SingleNode).Files()
	for _, sql := range []string{up, down} {
		stmts, err := schema.ParseScript(sql)
		require.NoError(t, err)
		assert.Len(t, stmts, 1, "%s", sql)
	}
}
