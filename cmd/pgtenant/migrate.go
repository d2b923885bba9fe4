package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"pgtenant/engine/migrate"
)

// migrateActions are the actions of `pgtenant migrate`, each on ADMIN_DATABASE_URL and MIGRATIONS_DIR.
func migrateActions() []command {
	return []command{
		{name: "migrate up", run: cmdMigrateUp, env: migrateEnv,
			summary: "Apply every pending migration, each file in one transaction"},
		{name: "migrate down", args: "N", run: cmdMigrateDown, env: migrateEnv,
			summary: "Revert the N most recent migrations"},
		{name: "migrate status", run: cmdMigrateStatus, env: migrateEnv,
			summary: "The database's version, available and pending migrations; exit 1 when dirty"},
		{name: "migrate force", args: "V", run: cmdMigrateForce, env: migrateEnv,
			summary: "Record version V as clean without running anything: the way out of a dirty state"},
	}
}

// migrateArg parses the flags of `migrate verb` and its one number argument (none when what is ""), which is
// at least min. ok is false when the command must stop with code.
func migrateArg(e *env, verb, synopsis, what string, min int, args []string) (n int, code int, ok bool) {
	fs := newFlags(e, "migrate "+verb, synopsis)
	if code, ok := e.parse(fs, args); !ok {
		return 0, code, false
	}
	if what == "" {
		if fs.NArg() > 0 {
			return 0, usageError(fs, e, "%s takes no argument, got %q", verb, fs.Arg(0)), false
		}
	} else {
		if fs.NArg() != 1 {
			return 0, usageError(fs, e, "%s needs %s, like: migrate %s 1", verb, what, verb), false
		}
		v, err := strconv.Atoi(fs.Arg(0))
		if err != nil || v < min {
			return 0, usageError(fs, e, "%s %q: want a whole number, at least %d", verb, fs.Arg(0), min), false
		}
		n = v
	}
	if e.cfg.AdminDatabaseURL == "" {
		return 0, fail(e, "migrate", errNoAdminURL), false
	}
	return n, exitOK, true
}

func cmdMigrateUp(ctx context.Context, e *env, args []string) int {
	if _, code, ok := migrateArg(e, "up", "", "", 0, args); !ok {
		return code
	}
	from, to, err := migrate.Up(ctx, e.cfg.AdminDatabaseURL, e.cfg.MigrationsDir)
	if err != nil {
		return fail(e, "migrate", err)
	}
	reportMove(e, "up", from, to)
	return exitOK
}

func cmdMigrateDown(ctx context.Context, e *env, args []string) int {
	steps, code, ok := migrateArg(e, "down", "N", "the number of migrations to revert", 1, args)
	if !ok {
		return code
	}
	from, to, err := migrate.Down(ctx, e.cfg.AdminDatabaseURL, e.cfg.MigrationsDir, steps)
	if err != nil {
		return fail(e, "migrate", err)
	}
	reportMove(e, "down", from, to)
	return exitOK
}

func cmdMigrateForce(ctx context.Context, e *env, args []string) int {
	v, code, ok := migrateArg(e, "force", "V", "the version the database is really at (0 for none)", 0, args)
	if !ok {
		return code
	}
	if err := migrate.Force(ctx, e.cfg.AdminDatabaseURL, e.cfg.MigrationsDir, uint(v)); err != nil {
		return fail(e, "migrate", err)
	}
	fmt.Fprintf(e.stdout, "Recorded version %d as clean; nothing was run.\n", v)
	return exitOK
}

func cmdMigrateStatus(ctx context.Context, e *env, args []string) int {
	if _, code, ok := migrateArg(e, "status", "", "", 0, args); !ok {
		return code
	}
	st, err := migrate.ReadStatus(ctx, e.cfg.AdminDatabaseURL, e.cfg.MigrationsDir)
	if err != nil {
		return fail(e, "migrate", err)
	}
	writeStatus(e, st)
	if st.Dirty {
		return exitFailure
	}
	return exitOK
}

func reportMove(e *env, verb string, from, to uint) {
	if from == to {
		fmt.Fprintf(e.stdout, "No change: the database is at version %d.\n", to)
		return
	}
	fmt.Fprintf(e.stdout, "Migrated %s from version %d to %d.\n", verb, from, to)
}

func writeStatus(e *env, st migrate.Status) {
	state := "clean"
	if st.Dirty {
		state = "DIRTY: the last migration failed part-way; the database is as it was before it; fix the file, then run 'pgtenant migrate force V' with the version it is at"
	}
	fmt.Fprintf(e.stdout, "version:   %d (%s)\n", st.Version, state)
	fmt.Fprintf(e.stdout, "available: %s\n", versionList(st.Available))
	fmt.Fprintf(e.stdout, "pending:   %s\n", versionList(st.Pending))
}

func versionList(vs []uint) string {
	if len(vs) == 0 {
		return "none"
	}
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.FormatUint(uint64(v), 10)
	}
	return strings.Join(s, ", ")
}
