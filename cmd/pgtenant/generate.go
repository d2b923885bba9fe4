package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"pgtenant/engine/migrate"
	"pgtenant/schema"
)

const generateArgs = "[--check] [--name NAME] [--allow-destructive] [--concurrent-indexes]"

var migrationNameRE = regexp.MustCompile(`^[a-z0-9_]+$`)

func cmdGenerate(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "generate", generateArgs)
	check := fs.Bool("check", false, "write nothing; exit 1 if migrations/ is out of date with the declaration")
	name := fs.String("name", "", "the name of the new migration (lower-case, digits, underscores); default: taken from the change")
	destructive := fs.Bool("allow-destructive", false, "allow dropping tables and columns and type changes that can lose data")
	concurrent := fs.Bool("concurrent-indexes", false, "build indexes on existing tables with CREATE INDEX CONCURRENTLY, each in a non-transactional migration of its own")
	if code, ok := e.parseNoArgs(fs, args); !ok {
		return code
	}
	if *name != "" && !migrationNameRE.MatchString(*name) {
		return usageError(fs, e, "--name %q: use lower-case letters, digits and underscores", *name)
	}
	model, files, diags := schema.Load(e.cfg.PoliciesFile)
	if diags.HasErrors() {
		writeDiagnostics(e.stderr, files, diags)
		return exitFailure
	}
	dir := e.cfg.MigrationsDir
	out, err := migrate.Generate(dir, model, migrate.GenerateOptions{
		Name: *name, AllowDestructive: *destructive || *check, ConcurrentIndexes: *concurrent})
	if err != nil {
		return fail(e, "generate", err)
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	slices.Sort(names)
	if *check {
		if len(out) > 0 {
			fmt.Fprintf(e.stderr, "pgtenant generate: %s is out of date with %s; run `pgtenant generate` (it would write %v).\n",
				dir, e.cfg.PoliciesFile, names)
			return exitFailure
		}
		stale, err := migrate.Stale(dir)
		if err != nil {
			return fail(e, "generate", err)
		}
		if len(stale) > 0 {
			fmt.Fprintf(e.stderr, "pgtenant generate: %v differ from what this pgtenant generates; "+
				"run `pgtenant generate` after deleting %s if nothing is deployed yet.\n", stale, dir)
			return exitFailure
		}
		fmt.Fprintf(e.stdout, "%s is up to date with %s.\n", dir, e.cfg.PoliciesFile)
		return exitOK
	}
	if len(out) == 0 {
		fmt.Fprintf(e.stdout, "No changes: %s is up to date with %s.\n", dir, e.cfg.PoliciesFile)
		return exitOK
	}
	if err := migrate.WriteFiles(dir, out); err != nil {
		return fail(e, "generate", err)
	}
	for _, n := range names {
		fmt.Fprintf(e.stdout, "wrote %s\n", filepath.Join(dir, n))
	}
	if slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, "_"+migrate.UpgradeName+".") }) {
		fmt.Fprintf(e.stdout, "The %s migration is a generator upgrade: this pgtenant writes generated policies differently from "+
			"the one that wrote %s. Review it, commit it, and apply it with `pgtenant migrate up`.\n", migrate.UpgradeName, dir)
	}
	return exitOK
}
