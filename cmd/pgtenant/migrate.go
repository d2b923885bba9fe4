package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"pgtenant/engine/migrate"
)

const migrateArgs = "up | down N | status | force V"

func cmdMigrate(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "migrate", migrateArgs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageError(fs, e, "say up, down N, status or force V")
	}
	verb, rest := rest[0], rest[1:]
	var steps int
	switch verb {
	case "up", "status":
		if len(rest) > 0 {
			return usageError(fs, e, "%s takes no argument, got %q", verb, rest[0])
		}
	case "down":
		if len(rest) != 1 {
			return usageError(fs, e, "down needs the number of migrations to revert, like: migrate down 1")
		}
		n, err := strconv.Atoi(rest[0])
		if err != nil || n < 1 {
			return usageError(fs, e, "down %q: want a whole number of migrations, at least 1", rest[0])
		}
		steps = n
	case "force":
		if len(rest) != 1 {
			return usageError(fs, e, "force needs the version the database is really at, like: migrate force 1")
		}
		n, err := strconv.Atoi(rest[0])
		if err != nil || n < 0 {
			return usageError(fs, e, "force %q: want a version number (0 for none)", rest[0])
		}
		steps = n
	default:
		return usageError(fs, e, "unknown subcommand %q", verb)
	}
	url := e.cfg.AdminDatabaseURL
	if url == "" {
		return fail(e, "migrate", errNoAdminURL)
	}
	dir := e.cfg.MigrationsDir
	switch verb {
	case "up":
		from, to, err := migrate.Up(ctx, url, dir)
		if err != nil {
			return fail(e, "migrate", err)
		}
		reportMove(e, "up", from, to)
	case "down":
		from, to, err := migrate.Down(ctx, url, dir, steps)
		if err != nil {
			return fail(e, "migrate", err)
		}
		reportMove(e, "down", from, to)
	case "force":
		if err := migrate.Force(ctx, url, dir, uint(steps)); err != nil {
			return fail(e, "migrate", err)
		}
		fmt.Fprintf(e.stdout, "Recorded version %d as clean; nothing was run.\n", steps)
	case "status":
		st, err := migrate.ReadStatus(ctx, url, dir)
		if err != nil {
			return fail(e, "migrate", err)
		}
		writeStatus(e, st)
		if st.Dirty {
			return exitFailure
		}
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
