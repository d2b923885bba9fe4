package main

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"pgtenant/schema"
)

func cmdFmt(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "fmt", "[-check]")
	check := fs.Bool("check", false, "change nothing; exit 3 if any file is not canonically formatted")
	if code, ok := e.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, e, "unexpected argument %q (set POLICIES_FILE to format another file)", fs.Arg(0))
	}
	paths, err := schema.Expand([]string{e.cfg.PoliciesFile})
	if err != nil {
		return fail(e, "fmt", err)
	}
	var diags hcl.Diagnostics
	files := schema.Files{}
	changed := 0
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			return fail(e, "fmt", err)
		}
		// Refuse to format what does not parse: hclwrite would keep the
		// mistake and move it around.
		f, ds := hclsyntax.ParseConfig(src, p, hcl.InitialPos)
		files[p] = f
		if diags = append(diags, ds...); ds.HasErrors() {
			continue
		}
		out := hclwrite.Format(src)
		if bytes.Equal(out, src) {
			continue
		}
		changed++
		fmt.Fprintln(e.stdout, p)
		if !*check {
			if err := os.WriteFile(p, out, 0o644); err != nil {
				return fail(e, "fmt", err)
			}
		}
	}
	if diags.HasErrors() {
		writeDiagnostics(e.stderr, files, diags)
		return exitFailure
	}
	if *check && changed > 0 {
		fmt.Fprintf(e.stderr, "pgtenant fmt: %d file(s) are not canonically formatted; run `pgtenant fmt`.\n", changed)
		return exitFmt
	}
	return exitOK
}
