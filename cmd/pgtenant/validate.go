package main

import (
	"context"
	"fmt"

	"pgtenant/schema"
)

func cmdValidate(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "validate", "[-json]")
	asJSON := fs.Bool("json", false, "print diagnostics in Terraform's JSON layout on stdout")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, e, "unexpected argument %q (set POLICIES_FILE to validate another file)", fs.Arg(0))
	}
	_, files, diags := schema.Load(e.cfg.PoliciesFile)
	if *asJSON {
		if err := writeJSONDiagnostics(e.stdout, files, diags); err != nil {
			return fail(e, "validate", err)
		}
	} else {
		writeDiagnostics(e.stderr, files, diags)
		if !diags.HasErrors() {
			fmt.Fprintf(e.stdout, "%s: the declaration is valid.\n", e.cfg.PoliciesFile)
		}
	}
	if diags.HasErrors() {
		return exitFailure
	}
	return exitOK
}
