package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"pgtenant/engine/verify"
	"pgtenant/schema"
)

const verifyArgs = "[--json] [--server URL [--token T]]"

// cmdVerify runs the production checklist (engine/verify) against DATABASE_URL, ADMIN_DATABASE_URL,
// POLICIES_FILE, MIGRATIONS_DIR and the configuration, plus, with --server, the HTTP probe of a running API.
// Any failed check makes it exit 1.
func cmdVerify(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "verify", verifyArgs)
	asJSON := fs.Bool("json", false, "print an array of {name, ok, detail, fix} on stdout")
	server := fs.String("server", "", "also probe the running API at this base URL, such as http://localhost:3000/api/v1")
	token := fs.String("token", "", "with --server: a live API token, so that the refusal of unknown tenants (403) is "+
		"checked too; - reads it from stdin (a token on the command line shows in ps)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, e, "unexpected argument %q", fs.Arg(0))
	}
	if *token != "" && *server == "" {
		return usageError(fs, e, "--token is only used with --server")
	}
	if *token == "-" {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if strings.TrimSpace(line) == "" {
			return fail(e, "verify", fmt.Errorf("--token -: no token on stdin (%v)", err))
		}
		*token = strings.TrimSpace(line)
	}
	model, files, diags := schema.Load(e.cfg.PoliciesFile)
	if diags.HasErrors() {
		writeDiagnostics(e.stderr, files, diags)
		return exitFailure
	}
	results := verify.Run(ctx, verify.Config{
		AppURL:        e.cfg.DatabaseURL,
		AdminURL:      e.cfg.AdminDatabaseURL,
		Declared:      model,
		MigrationsDir: e.cfg.MigrationsDir,
		RequireTenant: e.cfg.RequireTenant,
		DefaultTenant: e.cfg.DefaultTenant,
	})
	if *server != "" {
		results = append(results, probeServer(ctx, e.cfg, model, *server, *token))
	}
	failed := 0
	for _, r := range results {
		if !r.OK {
			failed++
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return fail(e, "verify", err)
		}
	} else {
		for _, r := range results {
			if r.OK {
				fmt.Fprintf(e.stdout, "✓ %s\n", r.Name)
				continue
			}
			fmt.Fprintf(e.stdout, "✗ %s — %s\n", r.Name, r.Detail)
			if r.Fix != "" {
				fmt.Fprintf(e.stdout, "    fix: %s\n", r.Fix)
			}
		}
		fmt.Fprintf(e.stdout, "\n%d of %d checks passed.", len(results)-failed, len(results))
		if *server == "" {
			fmt.Fprint(e.stdout, " The HTTP checks did not run: pass --server URL of the running API.")
		}
		fmt.Fprintln(e.stdout)
	}
	if failed > 0 {
		return exitFailure
	}
	return exitOK
}
