package main

import (
	"bytes"
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

// command is one verb of the CLI, or one action of a verb with actions (`tenant create`). Flags are parsed with
// Go's flag package, which accepts both -json and --json, as Terraform's CLI does.
type command struct {
	name    string // the verb, or "verb action"
	args    string // usage after the name
	summary string
	detail  string // more about the arguments, for the command's own usage; optional
	// env names the settings it reads: each is also a flag of the command (settingFlag), and its usage lists them.
	env      []string
	defaults func(*Config) // the command's own defaults over DefaultConfig's; optional
	run      func(ctx context.Context, e *env, args []string) int
	actions  []command // a verb with actions has no run of its own
}

// env is what a command may use: its streams, the environment, and its configuration once parse has read it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string // the process's environment (os.Getenv in main), or a test's
	cfg            Config
	given          map[string]string // the settings given as flags, by name: they win over getenv
	defaults       func(*Config)     // the command's own defaults, from newFlags
}

// Settings groups for the command table.
var (
	declarationEnv = []string{"POLICIES_FILE"}
	ownerEnv       = []string{"ADMIN_DATABASE_URL"}
	migrateEnv     = []string{"ADMIN_DATABASE_URL", "MIGRATIONS_DIR"}
)

// commands is the CLI: every verb and action, in the order the usage lists them.
func commands() []command {
	return []command{
		{name: "validate", args: "[-json] [-offline]", run: cmdValidate,
			summary: "Check the declaration; print every problem with file:line:col",
			env:     settingsFor(declarationEnv, scratchSettings)},
		{name: "fmt", args: "[-check]", run: cmdFmt,
			summary: "Rewrite the declaration in canonical format; -check exits 3 if a file would change",
			env:     declarationEnv},
		{name: "generate", args: generateArgs, run: cmdGenerate,
			summary: "Write the next migration pair from the declaration; --check exits 1 if one is due",
			env:     []string{"POLICIES_FILE", "MIGRATIONS_DIR"}},
		{name: "migrate", args: "up | down N | status | force V", actions: migrateActions(),
			summary: "Apply, revert, show or force migrations (ADMIN_DATABASE_URL)"},
		{name: "plan", args: planArgs, run: cmdPlan,
			summary: "Show how the database differs from the declaration, as the SQL that reconciles it",
			env:     settingsFor(ownerEnv, declarationEnv, scratchSettings)},
		{name: "dev", args: "[--no-serve]", run: cmdDev, defaults: devDefaults,
			summary: "Start a private PostgreSQL under .pgtenant/, apply the migrations, make demo tenants, serve",
			env:     settingsFor([]string{"POLICIES_FILE", "MIGRATIONS_DIR", "PGTENANT_DATA_DIR"}, serverSettings)},
		{name: "serve", args: "", run: cmdServe,
			summary: "Serve the tenant-scoped HTTP API (DATABASE_URL)",
			env:     settingsFor([]string{"DATABASE_URL", "POLICIES_FILE"}, serverSettings, []string{"GOGC"})},
		{name: "tenant", args: "create | list | deactivate | activate | set-limit", actions: tenantActions(),
			summary: "Register, list, deactivate and activate tenants, set their rate limits (ADMIN_DATABASE_URL)"},
		{name: "token", args: "create | list | revoke", actions: tokenActions(),
			summary: "Make, list and revoke API tokens (ADMIN_DATABASE_URL)"},
		{name: "backup", args: backupArgs, run: cmdBackup,
			summary: "Write one tenant's rows to a file, read under its RLS context",
			env:     []string{"DATABASE_URL", "ADMIN_DATABASE_URL", "POLICIES_FILE", "BACKUP_KEY"}},
		{name: "restore", args: restoreArgs, run: cmdRestore,
			summary: "Load a backup into one tenant, all or nothing",
			env:     []string{"DATABASE_URL", "ADMIN_DATABASE_URL", "POLICIES_FILE", "BACKUP_KEY"}},
		{name: "verify", args: verifyArgs, run: cmdVerify,
			summary: "Run the production checklist against the database and config; exit 1 on any failure",
			env: settingsFor([]string{"DATABASE_URL", "ADMIN_DATABASE_URL", "POLICIES_FILE", "MIGRATIONS_DIR",
				"REQUIRE_TENANT", "DEFAULT_TENANT_ID", "TENANT_HEADER", "ADMIN_LISTEN_ADDR"}, scratchSettings)},
		{name: "rls", args: "status | disable | enable", actions: rlsActions(),
			summary: "Show row-level security; disable (emergency) or enable it (ADMIN_DATABASE_URL)"},
		{name: "version", args: "", run: cmdVersion,
			summary: "Print pgtenant's version, commit and Go version (also: pgtenant --version)"},
		{name: "help", args: "[command [action]]", run: nil,
			summary: "Print the usage of pgtenant, or of one command (also: pgtenant COMMAND --help)"},
	}
}

// lookup finds the command that words (a verb, and maybe an action) name; rest is what follows it.
func lookup(words []string) (c command, rest []string, ok bool) {
	list, prefix := commands(), ""
	for len(words) > 0 {
		i := slices.IndexFunc(list, func(c command) bool { return c.name == prefix+words[0] })
		if i < 0 {
			break
		}
		c, ok, words = list[i], true, words[1:]
		list, prefix = c.actions, c.name+" "
	}
	return c, words, ok
}

// usage prints the top-level usage: every command and action with its flags, and the settings.
func usage(w io.Writer) {
	fmt.Fprintln(w, "pgtenant turns one HCL declaration of tenant-scoped tables into reviewed migrations that make")
	fmt.Fprintln(w, "PostgreSQL enforce tenant isolation with row-level security, and serves a PostgREST-style API over them.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: pgtenant <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	var rows [][2]string
	for _, c := range commands() {
		if len(c.actions) == 0 {
			rows = append(rows, [2]string{strings.TrimSpace(c.name + " " + c.args), c.summary})
			continue
		}
		for _, a := range c.actions {
			rows = append(rows, [2]string{strings.TrimSpace(a.name + " " + a.args), a.summary})
		}
	}
	writeColumns(w, rows)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Flags:")
	writeColumns(w, [][2]string{
		{"-h, --help", "print the usage; `pgtenant COMMAND --help` or `pgtenant help COMMAND` for one command's"},
		{"--version", "print the version, commit and Go version"},
	})
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Settings: environment variables, or flags of the commands that read them (a flag wins over its")
	fmt.Fprintln(w, "variable; each command's --help lists those it reads). Prefer the environment for secrets: ps shows flags.")
	writeSettings(w, nil)
}

// The layout of the usage texts: a first column at most usageColumn wide (a longer entry gets a line of its
// own), and text wrapped at usageWidth.
const (
	usageColumn = 40
	usageWidth  = 110
)

// writeColumns prints rows of two columns, the second aligned after the widest first column (at most
// usageColumn) and wrapped at usageWidth.
func writeColumns(w io.Writer, rows [][2]string) {
	col := 0
	for _, r := range rows {
		if n := len(r[0]) + 4; n <= usageColumn {
			col = max(col, n)
		}
	}
	if col == 0 {
		col = usageColumn
	}
	for _, r := range rows {
		lines := wrap(r[1], usageWidth-col)
		if len(r[0])+4 > col {
			fmt.Fprintf(w, "  %s\n", r[0])
		} else {
			fmt.Fprintf(w, "  %-*s%s\n", col-2, r[0], lines[0])
			lines = lines[1:]
		}
		for _, l := range lines {
			fmt.Fprintf(w, "%*s%s\n", col, "", l)
		}
	}
}

// wrap splits text into lines of at most width bytes, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}

// run is the whole program: main only wires the process to it, so tests can call it directly. getenv reads the
// environment (os.Getenv in main): nothing else in pgtenant does.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		usage(stderr)
		return exitUsage
	case slices.Contains([]string{"-h", "-help", "--help"}, args[0]):
		usage(stdout)
		return exitOK
	case args[0] == "--version" || args[0] == "-version":
		args = []string{"version"}
	case args[0] == "help":
		if len(args) == 1 || slices.Contains(helpFlags, args[1]) {
			usage(stdout)
			return exitOK
		}
		// `pgtenant help tenant create` is `pgtenant tenant create --help`.
		args = append(slices.Clone(args[1:]), "--help")
		if c, rest, ok := lookup(args[:len(args)-1]); !ok || len(rest) > 0 {
			fmt.Fprintf(stderr, "pgtenant help: no command %q\n\n", strings.Join(args[:len(args)-1], " "))
			usage(stderr)
			return exitUsage
		} else if c.name == "help" {
			usage(stdout)
			return exitOK
		}
	}
	c, rest, ok := lookup(args[:1])
	if !ok || c.name == "help" {
		fmt.Fprintf(stderr, "pgtenant: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, given: map[string]string{}}
	return runCommand(ctx, e, c, append(rest, args[1:]...))
}

var helpFlags = []string{"-h", "-help", "--help", "--h"}

// runCommand runs c, or for a verb with actions, the action args[0] names.
func runCommand(ctx context.Context, e *env, c command, args []string) int {
	if len(c.actions) == 0 {
		return c.run(ctx, e, args)
	}
	fs := newFlags(e, c.name, "<action> [flags]")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		names := make([]string, len(c.actions))
		for i, a := range c.actions {
			names[i] = a.name[len(c.name)+1:]
		}
		return usageError(fs, e, "say %s", strings.Join(names, " or "))
	}
	for _, a := range c.actions {
		if a.name == c.name+" "+fs.Arg(0) {
			return runCommand(ctx, e, a, fs.Args()[1:])
		}
	}
	return usageError(fs, e, "unknown action %q", fs.Arg(0))
}

// helpFlag is -h, -help and --help on every command: the usage goes to stdout and the command exits 0.
type helpFlag struct {
	asked bool
	out   io.Writer
}

func (h *helpFlag) String() string   { return "" }
func (h *helpFlag) Set(string) error { h.asked = true; return nil }
func (h *helpFlag) IsBoolFlag() bool { return true }

// newFlags returns the flag set of the command named name (a verb, or "verb action"), with a flag for each
// setting it reads (settingFlag), and whose usage lists its flags and those settings. Usage errors go to stderr, a
// usage asked for with --help to stdout.
func newFlags(e *env, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	help := &helpFlag{out: e.stdout}
	fs.Var(help, "h", "")
	fs.Var(help, "help", "")
	c, rest, ok := lookup(strings.Fields(name))
	if !ok || len(rest) > 0 {
		c = command{name: name}
	}
	for _, s := range c.env {
		fs.Var(&settingFlag{name: s, given: e.given}, flagName(s), "")
	}
	e.defaults = c.defaults
	fs.Usage = func() { writeUsage(fs.Output(), fs, c, args) }
	return fs
}

// settingFlag is a setting given as a flag (--database-url for DATABASE_URL): its value wins over the
// environment's.
type settingFlag struct {
	name  string
	given map[string]string
}

func (f *settingFlag) String() string     { return "" }
func (f *settingFlag) Set(v string) error { f.given[f.name] = v; return nil }

// parse parses a command's flags (parseFlags), then reads its configuration: each setting from its flag when one
// was given, else from the environment, over the command's defaults. Invalid settings are a usage error (exit 2),
// one line per problem.
func (e *env) parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if code, ok := parseFlags(fs, args); !ok {
		return code, false
	}
	base := DefaultConfig()
	if e.defaults != nil {
		e.defaults(&base)
	}
	cfg, problems := LoadConfig(base, e.setting)
	if len(problems) > 0 {
		fmt.Fprintln(e.stderr, "pgtenant: invalid configuration:")
		for _, p := range problems {
			// A problem starts with the setting's name; given as a flag, the flag is what to fix.
			if name, rest, found := strings.Cut(p, ":"); found {
				if _, isFlag := e.given[name]; isFlag {
					p = "--" + flagName(name) + ":" + rest
				}
			}
			fmt.Fprintf(e.stderr, "  %s\n", p)
		}
		return exitUsage, false
	}
	e.cfg = cfg
	return exitOK, true
}

// parseNoArgs is parse for a command that takes flags only: an argument is a usage error.
func (e *env) parseNoArgs(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if code, ok := e.parse(fs, args); !ok {
		return code, false
	}
	if fs.NArg() > 0 {
		return usageError(fs, e, "unexpected argument %q", fs.Arg(0)), false
	}
	return exitOK, true
}

// setting is the value of the setting name: its flag's when given, else the environment's.
func (e *env) setting(name string) string {
	if v, ok := e.given[name]; ok {
		return v
	}
	return e.getenv(name)
}

// writeUsage prints a command's usage: its synopsis, what it does, its flags aligned, its actions, and the
// settings it reads.
func writeUsage(w io.Writer, fs *flag.FlagSet, c command, args string) {
	fmt.Fprintf(w, "Usage: pgtenant %s\n", strings.TrimSpace(fs.Name()+" "+args))
	for _, text := range []string{c.summary + ".", c.detail} {
		if text != "." && text != "" {
			fmt.Fprintf(w, "\n%s\n", strings.Join(wrap(text, usageWidth), "\n"))
		}
	}
	if len(c.actions) > 0 {
		fmt.Fprintln(w, "\nActions:")
		var rows [][2]string
		for _, a := range c.actions {
			rows = append(rows, [2]string{strings.TrimSpace(a.name[len(c.name)+1:] + " " + a.args), a.summary})
		}
		writeColumns(w, rows)
		fmt.Fprintf(w, "\nRun 'pgtenant %s <action> --help' for an action's flags and settings.\n", c.name)
	}
	rows := [][2]string{}
	fs.VisitAll(func(f *flag.Flag) {
		switch f.Value.(type) {
		case *helpFlag, *settingFlag: // -h is added below, the settings have a list of their own
			return
		}
		name := "--" + f.Name
		if len(f.Name) == 1 {
			name = "-" + f.Name
		}
		if !isBool(f) {
			name += " " + argName(args, f.Name)
		}
		text := f.Usage
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			text += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		rows = append(rows, [2]string{name, text})
	})
	rows = append(rows, [2]string{"-h, --help", "print this usage"})
	fmt.Fprintln(w, "\nFlags:")
	writeColumns(w, rows)
	if len(c.env) > 0 {
		fmt.Fprintln(w, "\nSettings (the flag, or the environment variable; the flag wins):")
		writeSettings(w, c.env)
	}
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// argName is the name of a flag's value as the command's synopsis spells it ("--tenant I" gives I), else VALUE.
func argName(synopsis, flagName string) string {
	fields := strings.Fields(strings.NewReplacer("[", " ", "]", " ", "(", " ", ")", " ", "|", " ").Replace(synopsis))
	for i, f := range fields {
		if (f == "--"+flagName || f == "-"+flagName) && i+1 < len(fields) && !strings.HasPrefix(fields[i+1], "-") {
			return fields[i+1]
		}
	}
	return "VALUE"
}

// parseFlags parses args and reports a usage error (exit 2) or --help (exit 0)
// as an exit code; ok is false when the command must stop.
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	// The flag package prints a mistake and the usage on the flag set's output (stderr); it is held back until
	// it is known not to be a request for help.
	out := fs.Output()
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	err := fs.Parse(args)
	fs.SetOutput(out)
	if h, isHelp := fs.Lookup("help").Value.(*helpFlag); isHelp && (h.asked || errors.Is(err, flag.ErrHelp)) {
		fs.SetOutput(h.out)
		fs.Usage()
		fs.SetOutput(out)
		return exitOK, false
	}
	if err != nil {
		_, _ = io.Copy(out, &buf)
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
