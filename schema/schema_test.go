package schema_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/schema"
)

var errorMarker = regexp.MustCompile(`#\s*ERROR:\s*`)

// markers reads the "# ERROR: <summary>" comments of a fixture as
// line → summaries; a line with two problems carries two markers.
func markers(t *testing.T, src []byte) map[int][]string {
	t.Helper()
	out := map[int][]string{}
	sc := bufio.NewScanner(bytes.NewReader(src))
	for line := 1; sc.Scan(); line++ {
		for _, m := range errorMarker.Split(sc.Text(), -1)[1:] {
			out[line] = append(out[line], strings.TrimSpace(m))
		}
	}
	return out
}

// byLine groups diagnostics as line → summaries.
func byLine(diags hcl.Diagnostics) map[int][]string {
	out := map[int][]string{}
	for _, d := range diags {
		line := 0
		if d.Subject != nil {
			line = d.Subject.Start.Line
		}
		out[line] = append(out[line], d.Summary)
	}
	for _, s := range out {
		slices.Sort(s)
	}
	return out
}

// TestLoad_Invalid checks that every fixture under testdata/invalid yields
// exactly the diagnostics its "# ERROR:" markers name, on their lines, all
// at once.
func TestLoad_Invalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.hcl")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".hcl"), func(t *testing.T) {
			src, err := os.ReadFile(f)
			require.NoError(t, err)
			want := markers(t, src)
			for _, s := range want {
				slices.Sort(s)
			}
			require.NotEmpty(t, want, "fixture has no # ERROR markers")
			m, _, diags := schema.Load(f)
			assert.Nil(t, m)
			assert.Equal(t, want, byLine(diags), "diagnostics:\n%s", describe(diags))
		})
	}
}

func describe(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "  %s: %s: %s\n", d.Subject, d.Summary, d.Detail)
	}
	return b.String()
}

// TestLoad_Suggestions checks the "did you mean" details of misspellings.
func TestLoad_Suggestions(t *testing.T) {
	tests := []struct {
		fixture string
		want    string
	}{
		{"unknown-references", `Did you mean "theme"`},
		{"unknown-references", `Did you mean "slug"?`},
		{"unknown-references", `Did you mean "id"?`},
		{"unknown-references", `Did you mean "reader"?`},
		{"keywords", `Did you mean "SELECT"?`},
		{"keywords", `Did you mean "SET_NULL"?`},
		{"keywords", `Did you mean "integer"?`},
		{"keywords", `Did you mean "varchar"?`},
		{"keywords", `Did you mean "null"?`},
		{"keywords", `Did you mean "column"?`},
		{"keywords", `Did you mean "RESTRICTIVE"?`},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+"/"+tt.want, func(t *testing.T) {
			_, _, diags := schema.Load(filepath.Join("testdata/invalid", tt.fixture+".hcl"))
			assert.Contains(t, describe(diags), tt.want)
		})
	}
}

func TestLoad_Policies(t *testing.T) {
	m, _, diags := schema.Load("../policies.hcl")
	require.False(t, diags.HasErrors(), describe(diags))
	assert.Equal(t, schema.DefaultTenancy.Column, m.Tenancy.Column)
	require.NotNil(t, m.Role("app"))
	assert.True(t, m.Role("reader").Has(schema.Select))
	assert.False(t, m.Role("reader").Has(schema.Insert))

	page := m.Table("webpages_webpage")
	require.NotNil(t, page)
	theme := page.Column("theme_id")
	require.NotNil(t, theme)
	assert.Equal(t, "uuid", theme.Type, "a references column takes the referenced key's type")
	assert.True(t, theme.Null)
	assert.Equal(t, "gen_random_uuid()", page.Column("id").Default)
	assert.Equal(t, "false", page.Column("is_published").Default)

	var fk *schema.ForeignKey
	for _, f := range page.ForeignKeys {
		if f.Name == "webpages_webpage_theme_id_fkey" {
			fk = f
		}
	}
	require.NotNil(t, fk)
	assert.Equal(t, schema.SetNull, fk.OnDelete)
	assert.Equal(t, []string{"tenant_id", "theme_id"}, firstOf(m.ForeignKeyColumns(page, fk)))

	lang := m.Table("content_language")
	require.True(t, lang.Shared)
	ns := m.Table("content_namespace")
	for _, f := range ns.ForeignKeys {
		if f.RefTable == "content_language" {
			cols, ref := m.ForeignKeyColumns(ns, f)
			assert.Equal(t, []string{"language_code"}, cols, "no tenant column towards a shared table")
			assert.Equal(t, []string{"code"}, ref)
		}
	}
	require.Len(t, m.PoliciesOn("webpages_webpage"), 1)
	assert.Equal(t, schema.Restrictive, m.PoliciesOn("webpages_webpage")[0].As)
}

func firstOf(a, _ []string) []string { return a }

// TestParse_Defaults checks literal defaults become SQL text and that the
// tenancy block is optional.
func TestParse_Defaults(t *testing.T) {
	src := `
table "t" {
  column "id" { type = uuid }
  column "s" {
    type    = text
    default = "it's"
  }
  column "n" {
    type    = numeric(10, 2)
    default = 1.5
  }
  column "b" {
    type    = boolean
    default = true
  }
  column "j" {
    type    = sql("text[]")
    default = sql("'{}'")
  }
  column "d" {
    type = double_precision
    null = true
  }
  primary_key { columns = [column.id] }
}
`
	m, _, diags := schema.Parse(schema.Source{Filename: "t.hcl", Bytes: []byte(src)})
	require.False(t, diags.HasErrors(), describe(diags))
	tbl := m.Table("t")
	assert.Equal(t, "'it''s'", tbl.Column("s").Default)
	assert.Equal(t, "numeric(10,2)", tbl.Column("n").Type)
	assert.Equal(t, "1.5", tbl.Column("n").Default)
	assert.Equal(t, "true", tbl.Column("b").Default)
	assert.Equal(t, "text[]", tbl.Column("j").Type)
	assert.Equal(t, "double precision", tbl.Column("d").Type)
	assert.Equal(t, schema.DefaultTenancy, m.Tenancy)
}

// TestLoad_MultipleFiles checks that a declaration can span files, with
// references across them.
func TestLoad_MultipleFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.hcl"), []byte(`
table "parent" {
  column "id" { type = uuid }
  primary_key { columns = [column.id] }
}
`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.hcl"), []byte(`
table "child" {
  column "id" { type = uuid }
  column "parent_id" { references = table.parent }
  primary_key { columns = [column.id] }
}
`), 0o644))
	m, _, diags := schema.Load(dir)
	require.False(t, diags.HasErrors(), describe(diags))
	assert.Equal(t, "parent", m.Tables[0].Name)
	assert.Equal(t, "parent", m.Table("child").ForeignKeys[0].RefTable)

	_, _, diags = schema.Load(filepath.Join(dir, "missing.hcl"))
	assert.True(t, diags.HasErrors())
}

// TestParse_ScaleOut: scale_out = "citus" selects the Citus profile, "none" is the default and is kept as "", and a
// policy's sub-select is refused only for Citus.
func TestParse_ScaleOut(t *testing.T) {
	decl := func(scaleOut string) string {
		return `
tenancy {
  scale_out = "` + scaleOut + `"
}
role "app" {
  privileges = [SELECT]
}
table "t" {
  column "id" { type = uuid }
  primary_key { columns = [column.id] }
}
policy "p" {
  on    = table.t
  to    = [role.app]
  using = "id IN (SELECT gen_random_uuid())"
}
`
	}
	m, _, diags := schema.Parse(schema.Source{Filename: "none.hcl", Bytes: []byte(decl("none"))})
	require.False(t, diags.HasErrors(), describe(diags))
	assert.Equal(t, "", m.Tenancy.ScaleOut)
	assert.False(t, m.Tenancy.Citus())

	_, _, diags = schema.Parse(schema.Source{Filename: "citus.hcl", Bytes: []byte(decl("citus"))})
	require.True(t, diags.HasErrors())
	assert.Contains(t, describe(diags), "citus.hcl:15,")
	assert.Contains(t, describe(diags), "Sub-select in a Citus policy")
}
