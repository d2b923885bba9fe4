package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Source is one declaration file's name and contents.
type Source struct {
	Filename string
	Bytes    []byte
}

// Files maps file names to parsed files; hcl's diagnostic writers use it to
// print source snippets.
type Files = map[string]*hcl.File

// Expand turns paths into the declaration files they name: a file stays as it
// is, a directory gives its *.hcl files in name order.
func Expand(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		matches, err := filepath.Glob(filepath.Join(p, "*.hcl"))
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		slices.Sort(matches)
		out = append(out, matches...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("schema: no .hcl files in %v", paths)
	}
	return out, nil
}

// The summaries of Load's diagnostics when there is no declaration to parse: the paths do not exist or hold no
// *.hcl file, or a file cannot be read. The CLI adds how to point it at the declaration.
const (
	SummaryNoDeclaration = "No declaration"
	SummaryUnreadable    = "Cannot read declaration"
)

// Load reads the declaration from paths (files or directories of *.hcl) and
// returns the model, the parsed files and every problem found. The model is
// nil when there are errors.
func Load(paths ...string) (*Model, Files, hcl.Diagnostics) {
	files, err := Expand(paths)
	if err != nil {
		return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: SummaryNoDeclaration, Detail: err.Error()}}
	}
	srcs := make([]Source, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: SummaryUnreadable, Detail: err.Error()}}
		}
		srcs = append(srcs, Source{Filename: f, Bytes: b})
	}
	return Parse(srcs...)
}

// Parse is Load for declarations already in memory. Semantic checks run only
// when every file parses, so that a syntax error is not buried under the
// problems it causes.
func Parse(srcs ...Source) (*Model, Files, hcl.Diagnostics) {
	p := hclparse.NewParser()
	var diags hcl.Diagnostics
	var bodies []hcl.Body
	for _, s := range srcs {
		f, ds := p.ParseHCL(s.Bytes, s.Filename)
		diags = append(diags, ds...)
		if f != nil {
			bodies = append(bodies, f.Body)
		}
	}
	if diags.HasErrors() {
		return nil, p.Files(), diags
	}
	d := newDecoder()
	d.model.src = map[string][]byte{}
	for _, s := range srcs {
		d.model.src[s.Filename] = s.Bytes
	}
	for _, b := range bodies {
		diags = append(diags, d.file(b)...)
	}
	for _, fn := range d.later {
		diags = append(diags, fn()...)
	}
	diags = append(diags, validate(d.model)...)
	sortDiagnostics(diags)
	if diags.HasErrors() {
		return nil, p.Files(), diags
	}
	return d.model, p.Files(), diags
}

// sortDiagnostics orders diagnostics by where they are, so that they read
// top to bottom like the files.
func sortDiagnostics(diags hcl.Diagnostics) {
	pos := func(d *hcl.Diagnostic) (string, int) {
		if d.Subject == nil {
			return "", 0
		}
		return d.Subject.Filename, d.Subject.Start.Byte
	}
	slices.SortStableFunc(diags, func(a, b *hcl.Diagnostic) int {
		fa, oa := pos(a)
		fb, ob := pos(b)
		if c := strings.Compare(fa, fb); c != 0 {
			return c
		}
		return oa - ob
	})
}
