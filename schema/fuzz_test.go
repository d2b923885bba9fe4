package schema_test

import (
	"os"
	"path/filepath"
	"testing"

	"pgtenant/schema"
)

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
	f.Fuzz(func(t *testing.T, src []byte) {
		m, _, diags := schema.Parse(schema.Source{Filename: "fuzz.hcl", Bytes: src})
		if (m == nil) != diags.HasErrors() {
			t.Fatalf("model %v with diagnostics %v", m != nil, diags)
		}
	})
}
