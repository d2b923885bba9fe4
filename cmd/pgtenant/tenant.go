package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"pgtenant/engine/registry"
)

// tenantActions are the actions of `pgtenant tenant`.
func tenantActions() []command {
	return []command{
		{name: "tenant create", args: tenantCreateArgs, run: cmdTenantCreate, env: ownerEnv,
			summary: "Register a tenant; print its UUID"},
		{name: "tenant list", args: "[--json]", run: cmdTenantList, env: ownerEnv,
			summary: "List the tenants"},
		{name: "tenant deactivate", args: "I", run: cmdTenantDeactivate, env: ownerEnv, detail: tenantRefDetail,
			summary: "Stop serving the tenant (running servers refuse it within a second); its rows stay"},
		{name: "tenant activate", args: "I", run: cmdTenantActivate, env: ownerEnv, detail: tenantRefDetail,
			summary: "Serve a deactivated tenant again"},
		{name: "tenant set-limit", args: tenantSetLimitArgs, run: cmdTenantSetLimit, env: ownerEnv,
			detail:  tenantRefDetail,
			summary: "Give the tenant its own rate limit, or --clear it (running servers apply it within a second)"},
	}
}

const tenantRefDetail = "I is the tenant's identifier or UUID."

func cmdTenantDeactivate(ctx context.Context, e *env, args []string) int {
	return setTenantActive(ctx, e, "tenant deactivate", false, args)
}

func cmdTenantActivate(ctx context.Context, e *env, args []string) int {
	return setTenantActive(ctx, e, "tenant activate", true, args)
}

// setTenantActive is `tenant deactivate I` and `tenant activate I`.
func setTenantActive(ctx context.Context, e *env, verb string, active bool, args []string) int {
	fs := newFlags(e, verb, "I")
	if code, ok := e.parse(fs, args); !ok {
		return code
	}
	switch fs.NArg() {
	case 0:
		return usageError(fs, e, "name the tenant: its identifier or UUID")
	case 1:
	default:
		return usageError(fs, e, "unexpected argument %q", fs.Arg(1))
	}
	conn, err := connectAdmin(ctx, e)
	if err != nil {
		return fail(e, verb, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	t, err := registry.SetTenantActive(ctx, conn, fs.Arg(0), active)
	if err != nil {
		return failRegistry(e, verb, err)
	}
	if active {
		fmt.Fprintf(e.stdout, "Tenant %s (%s) is active: running servers serve it again within a second.\n", t.Identifier, t.ID)
	} else {
		fmt.Fprintf(e.stdout, "Tenant %s (%s) is inactive: running servers refuse its requests within a second (403 PGT011). "+
			"Its rows are kept; `pgtenant tenant activate %s` undoes this.\n", t.Identifier, t.ID, t.Identifier)
	}
	return exitOK
}

const tenantCreateArgs = "--identifier I --name N --created-by U"

func cmdTenantCreate(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "tenant create", tenantCreateArgs)
	identifier := fs.String("identifier", "", "the tenant's slug, as clients send it in the tenant header: lower-case letters, digits, _ (required)")
	name := fs.String("name", "", "the tenant's display name (required)")
	createdBy := fs.String("created-by", "", "who registers it, for the record (required)")
	if code, ok := e.parseNoArgs(fs, args); !ok {
		return code
	}
	for _, f := range []struct{ flag, value string }{
		{"identifier", *identifier}, {"name", *name}, {"created-by", *createdBy},
	} {
		if strings.TrimSpace(f.value) == "" {
			return usageError(fs, e, "--%s is required", f.flag)
		}
	}
	if !registry.ValidIdentifier(*identifier) {
		return usageError(fs, e, "--identifier %q: want a lower-case letter, then up to 62 lower-case letters, digits or underscores, like prod_org", *identifier)
	}
	conn, err := connectAdmin(ctx, e)
	if err != nil {
		return fail(e, "tenant create", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	t, err := registry.CreateTenant(ctx, conn, *identifier, *name, *createdBy)
	if err != nil {
		return failRegistry(e, "tenant create", err)
	}
	fmt.Fprintln(e.stdout, t.ID)
	return exitOK
}

// tenantJSON is a tenant in `tenant list --json`.
type tenantJSON struct {
	ID         string    `json:"id"`
	Identifier string    `json:"identifier"`
	Name       string    `json:"name"`
	Active     bool      `json:"active"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// RateLimitRPS and RateLimitBurst are the tenant's own rate limit; null: the server's default.
	RateLimitRPS   *float64 `json:"rate_limit_rps"`
	RateLimitBurst *int     `json:"rate_limit_burst"`
}

func cmdTenantList(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "tenant list", "[--json]")
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	if code, ok := e.parseNoArgs(fs, args); !ok {
		return code
	}
	conn, err := connectAdmin(ctx, e)
	if err != nil {
		return fail(e, "tenant list", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	list, err := registry.ListTenants(ctx, conn)
	if err != nil {
		return failRegistry(e, "tenant list", err)
	}
	if *asJSON {
		out := make([]tenantJSON, len(list))
		for i, t := range list {
			out[i] = tenantJSON{ID: t.ID, Identifier: t.Identifier, Name: t.Name, Active: t.Active, CreatedBy: t.CreatedBy,
				CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
			if t.RateRPS > 0 {
				out[i].RateLimitRPS, out[i].RateLimitBurst = &t.RateRPS, &t.RateBurst
			}
		}
		return writeJSON(e, "tenant list", out)
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "No tenants. Register one with: pgtenant tenant create "+tenantCreateArgs)
		return exitOK
	}
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "IDENTIFIER\tID\tNAME\tACTIVE\tRATE LIMIT\tCREATED BY\tCREATED AT")
	for _, t := range list {
		active := "yes"
		if !t.Active {
			active = "no"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Identifier, t.ID, t.Name, active, rateLimit(t.RateRPS, t.RateBurst),
			t.CreatedBy, when(t.CreatedAt))
	}
	if err := w.Flush(); err != nil {
		return fail(e, "tenant list", err)
	}
	return exitOK
}

// errNoAdminURL is the answer when a command needs the owner's connection.
var errNoAdminURL = errors.New("ADMIN_DATABASE_URL is not set: point it at the database as the role " +
	"that owns the tables (not the app role), e.g. postgres://owner:secret@127.0.0.1:5432/app. " +
	"`make run` starts a private PostgreSQL and prints one")

// connectAdmin connects as the owner of the tables (ADMIN_DATABASE_URL).
func connectAdmin(ctx context.Context, e *env) (*pgx.Conn, error) {
	if e.cfg.AdminDatabaseURL == "" {
		return nil, errNoAdminURL
	}
	conn, err := pgx.Connect(ctx, e.cfg.AdminDatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("connect to ADMIN_DATABASE_URL: %w", err)
	}
	return conn, nil
}

// failRegistry is fail for the errors of engine/registry: the verb already
// says where the error comes from, and a database without the registry gets
// told what to run.
func failRegistry(e *env, verb string, err error) int {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "3F000" || pgErr.Code == "42P01") {
		err = fmt.Errorf("%w; the database has no tenant registry yet: apply the migrations with `pgtenant migrate up`", err)
	}
	return fail(e, verb, errors.New(strings.TrimPrefix(err.Error(), "registry: ")))
}

func writeJSON(e *env, verb string, v any) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fail(e, verb, err)
	}
	fmt.Fprintf(e.stdout, "%s\n", b)
	return exitOK
}

// when prints a time for a table: UTC, to the second.
func when(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// rateLimit prints a tenant's rate limit for `tenant list` and `tenant set-limit`.
func rateLimit(rps float64, burst int) string {
	if rps <= 0 {
		return "default"
	}
	return fmt.Sprintf("%s/s burst %d", strconv.FormatFloat(rps, 'g', -1, 64), burst)
}

const tenantSetLimitArgs = "I (--rps N --burst M | --clear)"

// cmdTenantSetLimit is `tenant set-limit I --rps N --burst M` and `tenant set-limit I --clear`.
func cmdTenantSetLimit(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "tenant set-limit", tenantSetLimitArgs)
	rps := fs.Float64("rps", 0, "requests per second the tenant may make, on average (> 0)")
	burst := fs.Int("burst", 0, "requests the tenant may make at once: the bucket size (> 0)")
	clear := fs.Bool("clear", false, "remove the tenant's own limit: the server's default applies again")
	if code, ok := e.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		return usageError(fs, e, "name the tenant: its identifier or UUID")
	}
	ref := fs.Arg(0)
	// The usage puts I first, and the flag package stops at the first argument that is not a flag.
	if code, ok := e.parse(fs, fs.Args()[1:]); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, e, "unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case *clear && (set["rps"] || set["burst"]):
		return usageError(fs, e, "--clear takes neither --rps nor --burst")
	case *clear:
	case !set["rps"] || !set["burst"]:
		return usageError(fs, e, "give both --rps and --burst, or --clear")
	case !(*rps > 0) || math.IsInf(*rps, 0):
		return usageError(fs, e, "--rps %v: want a positive number of requests per second", *rps)
	case *burst <= 0:
		return usageError(fs, e, "--burst %d: want a positive number of requests", *burst)
	}
	conn, err := connectAdmin(ctx, e)
	if err != nil {
		return fail(e, "tenant set-limit", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	t, err := registry.SetTenantLimit(ctx, conn, ref, *rps, *burst)
	if err != nil {
		return failRegistry(e, "tenant set-limit", err)
	}
	if *clear {
		fmt.Fprintf(e.stdout, "Tenant %s (%s) has no rate limit of its own: running servers apply their default within a second.\n",
			t.Identifier, t.ID)
	} else {
		fmt.Fprintf(e.stdout, "Tenant %s (%s) is limited to %s: running servers apply it within a second.\n",
			t.Identifier, t.ID, rateLimit(t.RateRPS, t.RateBurst))
	}
	return exitOK
}
