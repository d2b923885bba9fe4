package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"pgtenant/engine/verify"
	"pgtenant/engine/verify/httpcheck"
	"pgtenant/schema"
)

const verifyArgs = "[--json] [--server URL [--token T] [--admin URL]] [--drills [--drill-tenant I]]"

// cmdVerify runs the production checklist (engine/verify) against DATABASE_URL, ADMIN_DATABASE_URL,
// POLICIES_FILE, MIGRATIONS_DIR and the configuration; with --drills, the restore and rollback drills on scratch
// databases; with --server, the HTTP probe of a running API and of its admin listener. Any failed check makes it
// exit 1.
func cmdVerify(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "verify", verifyArgs)
	asJSON := fs.Bool("json", false, "print an array of {name, ok, detail, fix} on stdout")
	server := fs.String("server", "", "also probe the running API at this base URL, such as http://localhost:3000/api/v1")
	token := fs.String("token", "", "with --server: a live API token, so that the refusal of unknown tenants (403) is "+
		"checked too; - reads it from stdin (a token on the command line shows in ps)")
	admin := fs.String("admin", "", "with --server: the URL of the server's admin listener, whose /metrics and "+
		"/readyz are checked (default http:// and ADMIN_LISTEN_ADDR, "+DefaultConfig().AdminListenAddr+")")
	drills := fs.Bool("drills", false, "also run the drills, each on a scratch database (DEV_DATABASE_URL, else a "+
		"private throwaway server): one tenant backed up, restored and compared row for row; every down "+
		"migration applied and the migrations applied again, the schema compared. They take seconds")
	drillTenant := fs.String("drill-tenant", "", "with --drills: the tenant to back up, by identifier or UUID "+
		"(default: the first active tenant registered)")
	if code, ok := e.parseNoArgs(fs, args); !ok {
		return code
	}
	if *token != "" && *server == "" {
		return usageError(fs, e, "--token is only used with --server")
	}
	if *admin != "" && *server == "" {
		return usageError(fs, e, "--admin is only used with --server")
	}
	if *drillTenant != "" && !*drills {
		return usageError(fs, e, "--drill-tenant is only used with --drills")
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
	cfg := verify.Config{
		AppURL:        e.cfg.DatabaseURL,
		AdminURL:      e.cfg.AdminDatabaseURL,
		Declared:      model,
		MigrationsDir: e.cfg.MigrationsDir,
		RequireTenant: e.cfg.RequireTenant,
		DefaultTenant: e.cfg.DefaultTenant,
		Scratch:       scratchServer(e.cfg, "pgtenant-verify-"),
		DrillTenant:   *drillTenant,
		TempDir:       e.cfg.scratchDir(),
	}
	results := verify.Run(ctx, cfg)
	if *drills {
		results = append(results, verify.RunDrills(ctx, cfg)...)
	}
	if *server != "" {
		results = append(results, httpcheck.Server(ctx, httpcheck.Config{BaseURL: *server, Token: *token,
			Header: e.cfg.TenantHeader, AdminURL: e.cfg.AdminDatabaseURL, Declared: model}))
		if *admin == "" {
			*admin = "http://" + displayAddr(e.cfg.AdminListenAddr)
		}
		results = append(results, httpcheck.Monitoring(ctx, *admin))
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
		if !*drills {
			fmt.Fprint(e.stdout, " The drills did not run: pass --drills.")
		}
		fmt.Fprintln(e.stdout)
	}
	if failed > 0 {
		return exitFailure
	}
	return exitOK
}
