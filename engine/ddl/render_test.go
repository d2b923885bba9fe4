package ddl_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/ddl"
	"pgtenant/schema"
)

// TestRender_Fragments checks that Render records every declared fragment of every create case where it lands:
// the recorded span holds the declaration's text, and nothing of pgtenant's own SQL is recorded as declared.
func TestRender_Fragments(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(createCases, "*"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			m := load(t, filepath.Join(dir, "input.hcl"))
			changes, err := ddl.Diff(nil, m)
			require.NoError(t, err)
			want := map[[2]string]string{} // {kind, owner} → text
			for _, tb := range m.Tables {
				for _, c := range tb.Columns {
					want[[2]string{ddl.FragmentType, c.Name}] = c.Type
					if c.Default != "" {
						want[[2]string{ddl.FragmentDefault, c.Name}] = c.Default
					}
				}
				for _, c := range tb.Checks {
					want[[2]string{ddl.FragmentCheck, c.Name}] = c.Expr
				}
				for _, ix := range tb.Indexes {
					if ix.Where != "" {
						want[[2]string{ddl.FragmentWhere, ix.Name}] = ix.Where
					}
				}
			}
			for _, p := range m.Policies {
				if p.Using != "" {
					want[[2]string{ddl.FragmentUsing, p.Name}] = p.Using
				}
				if p.Check != "" {
					want[[2]string{ddl.FragmentWithCheck, p.Name}] = p.Check
				}
			}
			for _, v := range m.Views {
				// The query's closing line break is left out: the ';' follows its last line.
				want[[2]string{ddl.FragmentQuery, v.Name}] = strings.TrimRight(v.Query, "\n")
			}
			for _, f := range m.Functions {
				for _, a := range f.Args {
					want[[2]string{ddl.FragmentArgType, f.Name + "." + a.Name}] = a.Type
					if a.Default != "" {
						want[[2]string{ddl.FragmentArgDefault, f.Name + "." + a.Name}] = a.Default
					}
				}
				want[[2]string{ddl.FragmentBody, f.Name}] = f.Body
			}
			got := map[[2]string]string{}
			for _, r := range ddl.Render(changes, ddl.SingleNode).Changes {
				for _, f := range r.Fragments {
					got[[2]string{f.Kind, f.Owner}] = r.Up[f.Start:f.End]
				}
			}
			assert.Equal(t, want, got)
		})
	}
}

// TestUpgrade: the changes between the objects a migration recorded and the ones the generator writes now.
func TestUpgrade(t *testing.T) {
	m := load(t, filepath.Join(createCases, "tenant-table", "input.hcl"))
	current := ddl.Objects(m)
	require.NotEmpty(t, current)
	assert.Empty(t, ddl.Upgrade(current, current), "the same objects need no upgrade")

	older := make([]ddl.Object, len(current))
	for i, o := range current {
		older[i] = ddl.Object{Kind: o.Kind, Table: o.Table, Name: o.Name, SQL: o.SQL}
	}
	older[0].SQL = "CREATE POLICY tenant_isolation ON " + older[0].Table + " AS RESTRICTIVE FOR ALL TO PUBLIC USING (false);"
	gone := ddl.Object{Kind: "policy", Table: older[0].Table, Name: "retired", SQL: "CREATE POLICY retired ON x USING (true);"}
	recorded := append([]ddl.Object{older[0]}, older[2:]...) // older[1] is new in this generator
	changes := ddl.Upgrade(append(recorded, gone), current)
	up, down := ddl.Render(changes, ddl.SingleNode).Files()
	stmts, err := schema.ParseScript(up)
	require.NoError(t, err)
	var kinds []string
	for _, s := range stmts {
		kinds = append(kinds, s.Kind)
	}
	assert.Equal(t, []string{"DropStmt", "DropStmt", "CreatePolicyStmt", "CreatePolicyStmt"}, kinds,
		"retired is dropped, the policy whose text changed is replaced, the new one is created:\n%s", up)
	assert.Contains(t, up, current[1].SQL)
	assert.Contains(t, up, "DROP POLICY retired ON "+older[0].Table+";")
	assert.Contains(t, down, gone.SQL, "the down file restores what was recorded")
	assert.Contains(t, down, older[0].SQL, "the down file restores the recorded text")
	assert.Contains(t, down, "DROP POLICY "+current[1].Name+" ON "+older[0].Table+";")
}

// TestDollarTag: a function body cannot end its dollar quote early, whatever dollar quotes it holds.
func TestDollarTag(t *testing.T) {
	for body, want := range map[string]string{
		"SELECT 1":                     "$body$",
		"SELECT $body$x$body$":         "$body1$",
		"SELECT $body1$x$body1$, $bod": "$body2$",
		"SELECT '$body'":               "$body1$",
	} {
		assert.Equal(t, want, ddl.DollarTag(body), body)
		sql := ddl.SQL(ddl.SingleNode, ddl.CreateFunction{Function: "public.f", Returns: "void", Language: schema.SQL,
			Volatility: schema.Volatile, Body: body})
		stmts, err := schema.ParseScript(sql)
		require.NoError(t, err, sql)
		assert.Len(t, stmts, 1, sql)
	}
}
