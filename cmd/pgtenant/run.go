package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Exit codes, as Terraform uses them.
const (
	exitOK      = 0
	exitFailure = 1 // an error, or --check found work to do
	exitUsage   = 2 // the command line was wrong
	exitFmt     = 3 // fmt -check found files to reformat
)

// command is one verb of the CLI. Flags are parsed with Go's flag package,
// which accepts both -json and --json, as Terraform's CLI does.
type command struct {
	name    string
	args    string // usage after the verb
	summary string
	run     func(ctx context.Context, env *env, args []string) int
}

// env is what a command may use: its streams and its configuration.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	cfg            Config
}

// errUsage marks a command-line mistake: run prints the usage and exits 2.
var errUsage = errors.New("usage")

func commands() []command {
	return []command{
		{"validate", "[-json]", "Check the declaration; print every problem with file:line:col", cmdValidate},
		{"fmt", "[-check]", "Rewrite the declaration in canonical format; -check exits 3 if a file would change", cmdFmt},
		{"generate", generateArgs, "Write the next migration pair from the declaration; --check exits 1 if one is due", cmdGenerate},
		{"migrate", migrateArgs, "Apply, revert, show or force migrations (ADMIN_DATABASE_URL)", cmdMigrate},
		{"plan", planArgs, "Show how the database differs from the declaration, as the SQL that reconciles it (ADMIN_DATABASE_URL)", cmdPlan},
		{"dev", "", "Start a private PostgreSQL under .pgtenant/ and apply the migrations", cmdDev},
		{"tenant", tenantArgs, "Register, list, deactivate and activate tenants (ADMIN_DATABASE_URL)", cmdTenant},
		{"serve", "", "Serve the tenant-scoped HTTP API (DATABASE_URL)", cmdServe},
		{"token", tokenArgs, "Make, list and revoke API tokens (ADMIN_DATABASE_URL)", cmdToken},
		{"backup", backupArgs, "Write one tenant's rows to a file, read under its RLS context (DATABASE_URL, ADMIN_DATABASE_URL)", cmdBackup},
		{"restore", restoreArgs, "Load a backup into one tenant, all or nothing (DATABASE_URL, ADMIN_DATABASE_URL)", cmdRestore},
		{"verify", verifyArgs, "Run the production checklist against the database and config; exit 1 on any failure", cmdVerify},
		{"rls", rlsArgs, "Show row-level security; disable (emergency) or enable it (ADMIN_DATABASE_URL)", cmdRLS},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: pgtenant <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %-26s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Environment: POLICIES_FILE (policies.hcl), MIGRATIONS_DIR (migrations), ADMIN_DATABASE_URL.")
	fmt.Fprintln(w, "Run 'pgtenant <command> -h' for a command's flags.")
}

// run is the whole program: main only wires the process to it, so tests can
// call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || slices.Contains([]string{"-h", "-help", "--help", "help"}, args[0]) {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cfg, problems := LoadConfig()
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, cfg: cfg}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		if len(problems) > 0 {
			fmt.Fprintln(stderr, "pgtenant: invalid configuration:")
			for _, p := range problems {
				fmt.Fprintf(stderr, "  %s\n", p)
			}
			return exitUsage
		}
		return c.run(ctx, e, args[1:])
	}
	fmt.Fprintf(stderr, "pgtenant: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

// newFlags returns a flag set for a verb whose usage goes to stderr.
func newFlags(e *env, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: pgtenant %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and reports a usage error (exit 2) or -h (exit 0)
// as an exit code; ok is false when the command must stop.
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK, false
	case err != nil:
		return exitUsage, false
	}
	return exitOK, true
}

// usageError prints a command-line mistake with the verb's usage.
func usageError(fs *flag.FlagSet, e *env, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "pgtenant %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return exitUsage
}

// fail prints an error and returns exit code 1.
func fail(e *env, verb string, err error) int {
	msg := err.Error()
	if !strings.HasPrefix(msg, verb) {
		msg = verb + ": " + msg
	}
	fmt.Fprintf(e.stderr, "pgtenant %s\n", msg)
	return exitFailure
}
