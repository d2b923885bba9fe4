package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"

	"pgtenant/engine/ddl"
	"pgtenant/engine/rls"
	"pgtenant/schema"
)

// rlsActions are the emergency switch of row-level security, as the tables' owner (ADMIN_DATABASE_URL).
func rlsActions() []command {
	return []command{
		{name: "rls status", args: "", run: cmdRLSStatus, env: []string{"ADMIN_DATABASE_URL", "POLICIES_FILE"},
			summary: "Every table of public: row-level security enabled, forced, its policies; exit 1 if a declared " +
				"table lacks it"},
		{name: "rls disable", args: "--table T --i-understand", run: cmdRLSDisable,
			env: []string{"ADMIN_DATABASE_URL", "LOG_FORMAT", "LOG_LEVEL"},
			summary: "EMERGENCY ONLY: turn row-level security off on T; every tenant's rows of T become visible to " +
				"every role with a privilege on it"},
		{name: "rls enable", args: "[--table T]", run: cmdRLSEnable,
			env:     []string{"ADMIN_DATABASE_URL", "POLICIES_FILE", "LOG_FORMAT", "LOG_LEVEL"},
			summary: "Enable and force row-level security on T, or on every declared table"},
	}
}

func cmdRLSStatus(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "rls status", "")
	if code, ok := e.parseNoArgs(fs, args); !ok {
		return code
	}
	// The declaration only labels the tables: in an emergency the status must show even without it.
	kinds := map[string]string{}
	model, _, diags := schema.Load(e.cfg.PoliciesFile)
	if diags.HasErrors() {
		fmt.Fprintf(e.stderr, "pgtenant rls status: %s does not load, so the DECLARED column is unknown\n", e.cfg.PoliciesFile)
		model = nil
	} else {
		for _, t := range model.Tables {
			kinds[t.Name] = map[bool]string{true: "shared", false: "tenant"}[t.Shared]
		}
	}
	conn, err := connectAdmin(ctx, e)
	if err != nil {
		return fail(e, "rls status", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tables, err := rls.Status(ctx, conn)
	if err != nil {
		return fail(e, "rls status", err)
	}
	onOff := map[bool]string{true: "on", false: "off"}
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "TABLE\tRLS\tFORCED\tPOLICIES\tDECLARED\tOWNER")
	var unsafe []string
	for _, t := range tables {
		kind := kinds[t.Name]
		switch {
		case model == nil:
			kind = "?"
		case kind == "":
			kind = "no"
		case !t.Enabled || !t.Forced:
			unsafe = append(unsafe, t.Name)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", t.Name, onOff[t.Enabled], onOff[t.Forced], t.Policies, kind, t.Owner)
	}
	if err := w.Flush(); err != nil {
		return fail(e, "rls status", err)
	}
	if len(unsafe) > 0 {
		fmt.Fprintf(e.stdout, "\n%d declared table(s) without row-level security enabled and forced: %s. "+
			"Every tenant's rows of them are visible. Fix: pgtenant rls enable\n", len(unsafe), strings.Join(unsafe, ", "))
		return exitFailure
	}
	return exitOK
}

func cmdRLSDisable(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "rls disable", "--table T --i-understand")
	table := fs.String("table", "", "the table of schema public (required)")
	understood := fs.Bool("i-understand", false, "confirm that, until row-level security is enabled again, every "+
		"role with a privilege on the table reads and writes every tenant's rows (required)")
	if code, ok := e.parseNoArgs(fs, args); !ok {
		return code
	}
	if *table == "" {
		return usageError(fs, e, "--table is required: row-level security is switched off one table at a time")
	}
	if !*understood {
		return usageError(fs, e, "refusing without --i-understand: with row-level security off on %s, tenant "+
			"isolation is gone for that table and every role with a privilege on it reads and writes every "+
			"tenant's rows; nothing was changed", ddl.Qualified(ddl.Schema, *table))
	}
	conn, err := connectAdmin(ctx, e)
	if err != nil {
		return fail(e, "rls disable", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	op := operator(e.getenv)
	if err := rls.Disable(ctx, conn, *table, op); err != nil {
		return failRLS(e, "rls disable", err)
	}
	name := ddl.Qualified(ddl.Schema, *table)
	fmt.Fprintf(e.stderr, "WARNING: row-level security is OFF on %s.\n"+
		"WARNING: every role with a privilege on it now reads and writes EVERY tenant's rows, and `pgtenant verify` fails.\n"+
		"WARNING: turn it back on as soon as you can: pgtenant rls enable --table %s\n", name, *table)
	if logger, err := newLogger(e.stderr, e.cfg.LogFormat, e.cfg.LogLevel); err == nil {
		logger.Warn("row-level security disabled", "table", name, "operator", op, "db_user", conn.Config().User)
	}
	fmt.Fprintf(e.stdout, "Row-level security disabled on %s (logged in the database server's log too).\n", name)
	return exitOK
}

func cmdRLSEnable(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "rls enable", "[--table T]")
	table := fs.String("table", "", "the table of schema public; default: every declared table")
	if code, ok := e.parseNoArgs(fs, args); !ok {
		return code
	}
	tables := []string{*table}
	if *table == "" {
		model, files, diags := schema.Load(e.cfg.PoliciesFile)
		if diags.HasErrors() {
			writeDiagnostics(e.stderr, files, diags)
			return exitFailure
		}
		tables = tables[:0]
		for _, t := range model.Tables {
			tables = append(tables, t.Name)
		}
	}
	conn, err := connectAdmin(ctx, e)
	if err != nil {
		return fail(e, "rls enable", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	op := operator(e.getenv)
	if err := rls.Enable(ctx, conn, tables, op); err != nil {
		return failRLS(e, "rls enable", err)
	}
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = ddl.Qualified(ddl.Schema, t)
	}
	if logger, err := newLogger(e.stderr, e.cfg.LogFormat, e.cfg.LogLevel); err == nil {
		logger.Warn("row-level security enabled and forced", "tables", strings.Join(names, ","), "operator", op,
			"db_user", conn.Config().User)
	}
	fmt.Fprintf(e.stdout, "Row-level security enabled and forced on %s.\n", strings.Join(names, ", "))
	return exitOK
}

// operator names who runs the command, for the logs: the OS user (the one behind sudo, SUDO_USER of getenv, too)
// at the host.
func operator(getenv func(string) string) string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if sudo := getenv("SUDO_USER"); sudo != "" && sudo != name {
		name = sudo + " (as " + name + ")"
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown host"
	}
	return name + "@" + host
}

// failRLS is fail with the fix for an unknown table.
func failRLS(e *env, verb string, err error) int {
	if errors.Is(err, rls.ErrUnknownTable) {
		fmt.Fprintf(e.stderr, "pgtenant %s: %v; `pgtenant rls status` lists the tables\n", verb, err)
		return exitFailure
	}
	return fail(e, verb, err)
}
