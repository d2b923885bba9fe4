package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"pgtenant/engine/registry"
	"pgtenant/schema"
)

// tokenActions are the actions of `pgtenant token`.
func tokenActions() []command {
	return []command{
		{name: "token create", args: tokenCreateArgs, run: cmdTokenCreate,
			env:     []string{"ADMIN_DATABASE_URL", "POLICIES_FILE"},
			summary: "Make an API token for the tenants named; print it, once"},
		{name: "token list", args: "[--json]", run: cmdTokenList, env: ownerEnv,
			summary: "List the tokens (never their secrets)"},
		{name: "token revoke", args: "<id|name>", run: cmdTokenRevoke, env: ownerEnv,
			detail:  "A name must belong to one live token; pgtenant token list shows the ids.",
			summary: "Revoke a token (running servers refuse it within a second)"},
	}
}

func cmdTokenRevoke(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "token revoke", "<id|name>")
	if code, ok := e.parse(fs, args); !ok {
		return code
	}
	switch fs.NArg() {
	case 0:
		return usageError(fs, e, "name the token: its id or name")
	case 1:
	default:
		return usageError(fs, e, "unexpected argument %q", fs.Arg(1))
	}
	conn, err := connectAdmin(ctx, e)
	if err != nil {
		return fail(e, "token revoke", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	err = registry.RevokeToken(ctx, conn, fs.Arg(0))
	if errors.Is(err, registry.ErrAlreadyRevoked) {
		fmt.Fprintln(e.stdout, "Nothing to do: "+strings.TrimPrefix(err.Error(), "registry: ")+".")
		return exitOK
	}
	if err != nil {
		return failRegistry(e, "token revoke", err)
	}
	fmt.Fprintf(e.stdout, "Token %q is revoked: running servers refuse it within a second (401 PGT002).\n", fs.Arg(0))
	return exitOK
}

const tokenCreateArgs = "--tenant I [--tenant J …] --name N [--role R]"

// refs is a flag that may be repeated.
type refs []string

func (r *refs) String() string     { return strings.Join(*r, ", ") }
func (r *refs) Set(v string) error { *r = append(*r, v); return nil }

func cmdTokenCreate(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "token create", tokenCreateArgs)
	var tenants refs
	fs.Var(&tenants, "tenant", "a tenant the token may act for, by identifier or UUID; repeat for several (at least one)")
	name := fs.String("name", "", "what the token is for, e.g. ci or frontend (required)")
	role := fs.String("role", "", "the declared role its requests run as (default: the first role of the declaration)")
	if code, ok := e.parseNoArgs(fs, args); !ok {
		return code
	}
	if strings.TrimSpace(*name) == "" {
		return usageError(fs, e, "--name is required")
	}
	if len(tenants) == 0 {
		return usageError(fs, e, "--tenant is required: name at least one tenant the token may act for")
	}
	model, files, diags := schema.Load(e.cfg.PoliciesFile)
	if diags.HasErrors() {
		writeDiagnostics(e.stderr, files, diags)
		return exitFailure
	}
	if len(model.Roles) == 0 {
		return fail(e, "token create", fmt.Errorf("%s declares no role for a token to run as; declare one, like role \"app\"", e.cfg.PoliciesFile))
	}
	roles := roleNames(model)
	if *role == "" {
		*role = roles[0]
	}
	if !slices.Contains(roles, *role) {
		return usageError(fs, e, "--role %q is not a role of %s; declared roles: %s", *role, e.cfg.PoliciesFile, strings.Join(roles, ", "))
	}
	conn, err := connectAdmin(ctx, e)
	if err != nil {
		return fail(e, "token create", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	token, cred, err := registry.CreateToken(ctx, conn, *name, *role, tenants)
	if err != nil {
		return failRegistry(e, "token create", err)
	}
	fmt.Fprintln(e.stdout, token)
	fmt.Fprintf(e.stderr, "Token %q (id %s) runs as role %s for %d tenant(s). It is shown only this once: store it now.\n",
		cred.Name, cred.ID, cred.Role, len(cred.Tenants))
	return exitOK
}

// tokenJSON is a token in `token list --json`: never its secret or hash.
type tokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	Tenants    []string   `json:"tenants"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func cmdTokenList(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "token list", "[--json]")
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	if code, ok := e.parseNoArgs(fs, args); !ok {
		return code
	}
	conn, err := connectAdmin(ctx, e)
	if err != nil {
		return fail(e, "token list", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	list, err := registry.ListTokens(ctx, conn)
	if err != nil {
		return failRegistry(e, "token list", err)
	}
	if *asJSON {
		out := make([]tokenJSON, len(list))
		for i, k := range list {
			out[i] = tokenJSON{k.ID, k.Name, k.Role, k.Tenants, k.CreatedAt.UTC(), utc(k.LastUsedAt), utc(k.RevokedAt)}
		}
		return writeJSON(e, "token list", out)
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "No tokens. Make one with: pgtenant token create "+tokenCreateArgs)
		return exitOK
	}
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tID\tROLE\tTENANTS\tCREATED\tLAST USED\tREVOKED")
	for _, k := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Name, k.ID, k.Role, strings.Join(k.Tenants, ","),
			when(k.CreatedAt), whenMaybe(k.LastUsedAt, "never"), whenMaybe(k.RevokedAt, "-"))
	}
	if err := w.Flush(); err != nil {
		return fail(e, "token list", err)
	}
	return exitOK
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func whenMaybe(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return when(*t)
}
