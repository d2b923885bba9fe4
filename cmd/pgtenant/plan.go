package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/drift"
	"pgtenant/engine/introspect"
	"pgtenant/internal/pglocal"
	"pgtenant/schema"
)

const planArgs = "[-detailed-exitcode]"

// exitChanges is plan -detailed-exitcode's answer when the database differs from the declaration, as Terraform's.
const exitChanges = 2

// cmdPlan compares the live database (ADMIN_DATABASE_URL) with the declaration applied to a scratch database
// (DEV_DATABASE_URL, else a private throwaway server), and prints each difference with the SQL that reconciles
// it. Exit codes are Terraform's: 1 on any error, usage errors included, so that -detailed-exitcode's 2 always
// means "changes".
func cmdPlan(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "plan", planArgs)
	detailed := fs.Bool("detailed-exitcode", false, "exit 2 when the database differs from the declaration (0: no changes, 1: an error)")
	if code, ok := e.parse(fs, args); !ok {
		if code == exitOK {
			return exitOK
		}
		return exitFailure
	}
	if fs.NArg() > 0 {
		usageError(fs, e, "unexpected argument %q (set POLICIES_FILE or --policies-file to plan another declaration)", fs.Arg(0))
		return exitFailure
	}
	m, files, diags := schema.Load(e.cfg.PoliciesFile)
	if diags.HasErrors() {
		writeDiagnostics(e.stderr, files, diags)
		return fail(e, "plan", fmt.Errorf("%s is not valid; `pgtenant validate` says more", e.cfg.PoliciesFile))
	}
	live, err := connectAdmin(ctx, e)
	if err != nil {
		return fail(e, "plan", err)
	}
	defer func() { _ = live.Close(context.WithoutCancel(ctx)) }()

	// The live catalog first: it fails fast, and frees the connection before a throwaway server starts.
	got, err := drift.Read(ctx, live)
	if err != nil {
		return fail(e, "plan", fmt.Errorf("read ADMIN_DATABASE_URL: %w", err))
	}
	var shards []drift.Difference
	if m.Tenancy.Citus() {
		// The coordinator's catalog does not show what Citus made of the policies on the shards: read every one.
		cfg, err := pgx.ParseConfig(e.cfg.AdminDatabaseURL)
		if err != nil {
			return fail(e, "plan", err)
		}
		problems, err := introspect.CheckShards(ctx, live, introspect.WorkerConnector(cfg), m)
		if err != nil {
			return fail(e, "plan", fmt.Errorf("read the shards: %w", err))
		}
		shards = drift.ShardDifferences(m, problems)
	}
	_ = live.Close(ctx)
	want, err := declared(ctx, e.cfg, m)
	if err != nil {
		return fail(e, "plan", err)
	}
	diffs := append(drift.Compare(want, got), shards...)
	if len(diffs) == 0 {
		fmt.Fprintf(e.stdout, "No changes. The database matches %s.\n", e.cfg.PoliciesFile)
		return exitOK
	}
	fmt.Fprintf(e.stdout, "-- The database differs from %s. Review this SQL; run it as the owner (ADMIN_DATABASE_URL).\n\n",
		e.cfg.PoliciesFile)
	fmt.Fprintln(e.stdout, drift.Script(diffs))
	if len(diffs) == 1 {
		fmt.Fprintln(e.stdout, "Plan: 1 change.")
	} else {
		fmt.Fprintf(e.stdout, "Plan: %d changes.\n", len(diffs))
	}
	if *detailed {
		return exitChanges
	}
	return exitOK
}

// declared reads the catalog the declaration makes, on DEV_DATABASE_URL when it is set, else on a private
// throwaway server.
func declared(ctx context.Context, cfg Config, m *schema.Model) (*drift.Catalog, error) {
	if cfg.DevDatabaseURL != "" {
		want, err := drift.Declared(ctx, cfg.DevDatabaseURL, m)
		if err != nil {
			return nil, fmt.Errorf("apply the declaration on DEV_DATABASE_URL: %w", err)
		}
		return want, nil
	}
	var want *drift.Catalog
	err := withThrowawayServer(ctx, cfg.scratchDir(), "pgtenant-plan-", func(serverURL string) error {
		var err error
		want, err = drift.Declared(ctx, serverURL, m)
		return err
	})
	switch {
	case errors.Is(err, pglocal.ErrNoBinaries):
		return nil, fmt.Errorf("no PostgreSQL to apply the declaration to: set DEV_DATABASE_URL to a server where a "+
			"throwaway database may be created, or install the PostgreSQL server (apt-get install postgresql-15): %w", err)
	case err != nil:
		return nil, fmt.Errorf("apply the declaration on a throwaway PostgreSQL server (or set DEV_DATABASE_URL): %w", err)
	}
	return want, nil
}
