package schema_test

import (
	"os"
	"path/filepath"
	"testing"

	"pgtenant/schema"
)

// routineSeeds are declarations of views and functions for FuzzParse: valid ones, so that the fuzzer starts from
// inputs that reach the body checks.
var routineSeeds = []string{
	routineBase,
	routineBase + `function "search_pages" {
  to         = [role.app, role.reader]
  volatility = STABLE
  arg "q" { type = text }
  arg "lim" {
    type    = integer
    default = 20
  }
  returns = setof(view.published_pages)
  body    = "SELECT * FROM published_pages WHERE title ILIKE '%' || q || '%' LIMIT lim"
}`,
	routineBase + `function "publish_page" {
  to       = [role.app]
  language = plpgsql
  arg "page_id" { type = uuid }
  returns = table.page
  body    = <<-SQL
    DECLARE r page;
    BEGIN
      UPDATE page SET is_published = true WHERE id = page_id RETURNING * INTO r;
      RETURN r;
    END
  SQL
}`,
}

// FuzzParse feeds arbitrary text to the declaration parser. It must never
// panic, and it must either return a model or an error diagnostic, never
// both nor neither.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/invalid/*.hcl")
	seeds = append(seeds, "../policies.hcl")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err == nil {
			f.Add(b)
		}
	}
	for _, s := range routineSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		m, _, diags := schema.Parse(schema.Source{Filename: "fuzz.hcl", Bytes: src})
		if (m == nil) != diags.HasErrors() {
			t.Fatalf("model %v with diagnostics %v", m != nil, diags)
		}
	})
}

// FuzzFunctionBody feeds arbitrary bodies to the function body checks, in both languages. They must never
// panic, and every problem must lie within the body (or be about the whole of it).
func FuzzFunctionBody(f *testing.F) {
	for _, s := range []string{
		"SELECT 1", "SET ROLE postgres", "SELECT $q$'; SET ROLE x; --$q$", "UPDATE page SET t = current_setting('a.b')",
		"BEGIN PERFORM set_config('a.b', 'x', true); RETURN 1; END", "DECLARE n int; BEGIN n := 1; RETURN n; END",
		"BEGIN EXECUTE 'SELECT 1'; END", "BEGIN RETURN 1; END $pgtenant$; SET ROLE x; SELECT $pgtenant$",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, body string, plpgsql bool) {
		fn := &schema.Function{Name: "f", Language: schema.SQL, Volatility: schema.Volatile, Body: body,
			Returns: schema.Returns{Type: "integer"}, Args: []*schema.Arg{{Name: "q", Type: "text"}}}
		if plpgsql {
			fn.Language = schema.PLpgSQL
		}
		for _, e := range schema.FunctionProblems(fn, "app.current_tenant_id") {
			if e.Offset < -1 || e.Offset > len(body) || e.Offset+e.Length > len(body) || e.Length < 0 {
				t.Fatalf("problem %+v outside the body of %d bytes", e, len(body))
			}
		}
	})
}
