package ddl_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/ddl"
	"pgtenant/internal/golden"
	"pgtenant/schema"
)

// changeCases hold, per kind of declaration change, the declaration after the change (after.hcl), before it when
// that is not base.hcl (before.hcl, or from.txt: the name of the case whose after.hcl it is), and the migration
// pgtenant generates between the two.
const changeCases = "testdata/change"

func changeModels(t *testing.T, name string) (before, after *schema.Model) {
	t.Helper()
	dir := filepath.Join(changeCases, name)
	b := filepath.Join(dir, "before.hcl")
	if from, err := os.ReadFile(filepath.Join(dir, "from.txt")); err == nil {
		b = filepath.Join(changeCases, strings.TrimSpace(string(from)), "after.hcl")
	} else if _, err := os.Stat(b); err != nil {
		b = filepath.Join(changeCases, "base.hcl")
	}
	return load(t, b), load(t, filepath.Join(dir, "after.hcl"))
}

func changeOptions(name string) ddl.Options {
	return ddl.Options{ConcurrentIndexes: strings.HasPrefix(name, "concurrent")}
}

// rendered is a migration as generate writes it: the transactional pair, then one pair per concurrent index.
type rendered struct {
	up, down []string
}

func render(mig *ddl.Migration) rendered {
	var r rendered
	if len(mig.Changes) > 0 {
		up, down := ddl.Render(mig.Changes, ddl.SingleNode).Files()
		r.up, r.down = append(r.up, up), append(r.down, down)
	}
	for _, c := range mig.Concurrent {
		up, down := ddl.RenderNonTransactional(c, ddl.SingleNode)
		r.up, r.down = append(r.up, up), append(r.down, down)
	}
	return r
}

const fileBreak = "\n-- ──────── next migration file ────────\n\n"

// TestIncremental_Golden renders the migration of every change case and compares it, up and down, with the
// reviewed SQL; want.txt records the migration's name and what makes it destructive.
func TestIncremental_Golden(t *testing.T) {
	for _, name := range golden.Cases(t, changeCases) {
		t.Run(name, func(t *testing.T) {
			before, after := changeModels(t, name)
			mig, err := ddl.Incremental(before, after, changeOptions(name))
			require.NoError(t, err)
			r := render(mig)
			dir := filepath.Join(changeCases, name)
			golden.Check(t, filepath.Join(dir, "want.up.sql"), []byte(strings.Join(r.up, fileBreak)))
			golden.Check(t, filepath.Join(dir, "want.down.sql"), []byte(strings.Join(r.down, fileBreak)))
			summary := "name: " + mig.Name + "\n"
			for _, c := range mig.Destructive() {
				summary += "destructive: " + c.Destructive + "\n"
			}
			golden.Check(t, filepath.Join(dir, "want.txt"), []byte(summary))
		})
	}
}

func TestIncremental_Refusals(t *testing.T) {
	base := load(t, filepath.Join(changeCases, "base.hcl"))
	for _, tt := range []struct{ name, hcl, want string }{
		{"unknown table", `table "x" {
  renamed_from = "nope"
  column "id" { type = uuid }
  primary_key { columns = [column.id] }
}`, `table "x" has renamed_from = "nope", but the last migration has no table "nope"`},
		{"scale_out", `tenancy {
  scale_out = "citus"
}`, `scale_out changes from "none" to "citus"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(changeCases, "base.hcl"))
			require.NoError(t, err)
			next, _, diags := schema.Parse(schema.Source{Filename: "x.hcl", Bytes: append(src, []byte("\n"+tt.hcl+"\n")...)})
			require.False(t, diags.HasErrors(), diags.Error())
			_, err = ddl.Incremental(base, next, ddl.Options{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestSafeTypeChange(t *testing.T) {
	for _, tt := range []struct {
		from, to string
		safe     bool
	}{
		{"integer", "bigint", true},
		{"int4", "int8", true},
		{"smallint", "integer", true},
		{"bigint", "integer", false},
		{"integer", "numeric", true},
		{"integer", "numeric(12)", true},
		{"integer", "numeric(5)", false},
		{"real", "double precision", true},
		{"double precision", "real", false},
		{"varchar(100)", "varchar(200)", true},
		{"varchar(200)", "varchar(100)", false},
		{"varchar(100)", "text", true},
		{"varchar(100)", "varchar", true},
		{"text", "varchar", true},
		{"text", "varchar(10)", false},
		{"numeric(10,2)", "numeric(12,2)", true},
		{"numeric(10,2)", "numeric(10,3)", false},
		{"numeric(10,2)", "numeric", true},
		{"numeric", "numeric(10,2)", false},
		{"text", "integer", false},
		{"timestamp", "timestamptz", false},
		{"uuid", "text", false},
		{"int", "integer", true},
	} {
		assert.Equal(t, tt.safe, ddl.SafeTypeChange(tt.from, tt.to), "%s → %s", tt.from, tt.to)
	}
}
