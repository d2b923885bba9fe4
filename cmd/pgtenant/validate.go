package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"pgtenant/engine/fragment"
	"pgtenant/internal/pglocal"
	"pgtenant/schema"
)

func cmdValidate(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "validate", "[-json] [-offline]")
	asJSON := fs.Bool("json", false, "print diagnostics in Terraform's JSON layout on stdout")
	offline := fs.Bool("offline", false, "skip checking the SQL fragments on a scratch database")
	if code, ok := e.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, e, "unexpected argument %q (set POLICIES_FILE or --policies-file to validate another file)", fs.Arg(0))
	}
	model, files, diags := schema.Load(e.cfg.PoliciesFile)
	if !diags.HasErrors() && !*offline {
		diags = append(diags, checkSQL(ctx, e.cfg, model)...)
	}
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

// checkSQL checks the declaration's SQL fragments by applying the plan to a scratch database: on DEV_DATABASE_URL
// when it is set, else on a private throwaway server. With neither, it returns a warning: the static checks alone
// do not make a declaration fail.
func checkSQL(ctx context.Context, cfg Config, m *schema.Model) hcl.Diagnostics {
	if cfg.DevDatabaseURL != "" {
		diags, err := fragment.Check(ctx, cfg.DevDatabaseURL, m)
		if err != nil {
			return notChecked(hcl.DiagError, fmt.Sprintf("Checking on DEV_DATABASE_URL failed: %v.", err))
		}
		return diags
	}
	diags, err := checkOnThrowawayServer(ctx, cfg.scratchDir(), m)
	if errors.Is(err, pglocal.ErrNoBinaries) {
		return notChecked(hcl.DiagWarning, "No PostgreSQL to check them on: install the PostgreSQL server "+
			"(apt-get install postgresql-15), or set DEV_DATABASE_URL to a server where a throwaway database may "+
			"be created.")
	}
	if err != nil {
		// diags stand if the check ran and only stopping the server failed.
		return append(diags, notChecked(hcl.DiagError, fmt.Sprintf("The throwaway PostgreSQL server failed: %v. "+
			"Set DEV_DATABASE_URL to a server to check on instead.", err))...)
	}
	return diags
}

// checkOnThrowawayServer checks m on a private PostgreSQL server made for it (withThrowawayServer) under root.
// Returns an error wrapping pglocal.ErrNoBinaries when PostgreSQL is not installed.
func checkOnThrowawayServer(ctx context.Context, root string, m *schema.Model) (diags hcl.Diagnostics, err error) {
	err = withThrowawayServer(ctx, root, "pgtenant-validate-", func(serverURL string) error {
		var cerr error
		diags, cerr = fragment.Check(ctx, serverURL, m)
		return cerr
	})
	return diags, err
}

// notChecked says that the SQL fragments were not checked, and why.
func notChecked(severity hcl.DiagnosticSeverity, why string) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: severity,
		Summary:  "SQL not checked",
		Detail: "The SQL fragments of the declaration (using, check, where, sql()) were not checked on " +
			"PostgreSQL. " + why + " -offline skips this check.",
	}}
}
