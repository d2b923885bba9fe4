package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"pgtenant/engine/backup"
	"pgtenant/engine/pgtx"
	"pgtenant/engine/registry"
	"pgtenant/schema"
)

const (
	backupArgs  = "--tenant I [-o FILE] [--role R]"
	restoreArgs = "--tenant I [--replace] [--role R] FILE|-"
)

// errNoDatabaseURL is the answer when backup or restore has no app login to read or write the rows through.
var errNoDatabaseURL = errors.New("DATABASE_URL is not set: point it at the app login (the API's role, which holds " +
	"the declared roles): the tenant's rows are read and written through it, under row-level security")

// tenantJob is what backup and restore share: one tenant's rows, reached through the app login (DATABASE_URL)
// acting as a declared role, and the registry and schema version, read as the owner (ADMIN_DATABASE_URL).
type tenantJob struct {
	tenancy schema.Tenancy
	role    string
	tenant  backup.Tenant
	version uint
	runner  *pgtx.Runner
	pool    *pgxpool.Pool
}

// openTenantJob checks the configuration, picks the role (the --role given, which must hold need, or the first
// declared role that holds need and that no restrictive policy narrows), finds the tenant ref names and the
// schema version, and connects as the app login. ok is false when the command must stop with code.
func openTenantJob(ctx context.Context, e *env, fs *flag.FlagSet, ref, role string, need ...schema.Privilege) (
	job *tenantJob, code int, ok bool) {
	verb := fs.Name()
	if e.cfg.DatabaseURL == "" {
		return nil, fail(e, verb, errNoDatabaseURL), false
	}
	if e.cfg.AdminDatabaseURL == "" {
		return nil, fail(e, verb, errNoAdminURL), false
	}
	model, files, diags := schema.Load(e.cfg.PoliciesFile)
	if diags.HasErrors() {
		writeDiagnostics(e.stderr, files, diags)
		return nil, exitFailure, false
	}
	if role == "" {
		var err error
		if role, err = backup.DefaultRole(model, need...); err != nil {
			return nil, fail(e, verb, fmt.Errorf("%s in %s: pass --role", strings.TrimPrefix(err.Error(), "backup: "),
				e.cfg.PoliciesFile)), false
		}
	} else {
		r := model.Role(role)
		if r == nil {
			names := make([]string, len(model.Roles))
			for i, r := range model.Roles {
				names[i] = r.Name
			}
			return nil, usageError(fs, e, "--role %q is not a role of %s; declared roles: %s", role,
				e.cfg.PoliciesFile, strings.Join(names, ", ")), false
		}
		for _, p := range need {
			if !r.Has(p) {
				return nil, usageError(fs, e, "--role %s does not hold %s, which %s needs", role, p, verb), false
			}
		}
		if narrowed := backup.Narrowing(model, role); len(narrowed) > 0 {
			consequence := "rows they hide are left out"
			if verb == "restore" {
				consequence = "rows they refuse or hide make the restore fail"
			}
			fmt.Fprintf(e.stderr, "pgtenant %s: warning: restrictive policies narrow what role %s sees (%s): %s\n",
				verb, role, strings.Join(narrowed, ", "), consequence)
		}
	}
	admin, err := connectAdmin(ctx, e)
	if err != nil {
		return nil, fail(e, verb, err), false
	}
	defer admin.Close(context.WithoutCancel(ctx))
	t, err := registry.FindTenant(ctx, admin, ref)
	if err != nil {
		return nil, failRegistry(e, verb, err), false
	}
	version, err := backup.SchemaVersion(ctx, admin)
	if err != nil {
		return nil, failBackup(e, verb, err, role, ""), false
	}
	cfg, err := pgxpool.ParseConfig(e.cfg.DatabaseURL)
	if err != nil {
		return nil, fail(e, verb, fmt.Errorf("DATABASE_URL: %w", err)), false
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "pgtenant " + verb
	cfg.MaxConns = 1 // one transaction does all the work
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fail(e, verb, fmt.Errorf("connect to DATABASE_URL: %w", err)), false
	}
	return &tenantJob{tenancy: model.Tenancy, role: role, tenant: backup.Tenant{ID: t.ID, Identifier: t.Identifier},
		version: version, runner: pgtx.New(pool), pool: pool}, exitOK, true
}

// failBackup is fail for the errors of engine/backup, with a hint where the fix is known and then, when not
// empty, what became of the target.
func failBackup(e *env, verb string, err error, role, outcome string) int {
	msg := strings.TrimPrefix(err.Error(), "backup: ")
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" && strings.Contains(pgErr.Message, "set role") {
		msg += fmt.Sprintf(" (the DATABASE_URL login must be granted the declared role: GRANT %s TO <login>)", role)
	}
	if outcome != "" {
		msg += ": " + outcome
	}
	return fail(e, verb, errors.New(msg))
}

func cmdBackup(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "backup", backupArgs)
	ref := fs.String("tenant", "", "the tenant to back up: its identifier or UUID (required)")
	out := fs.String("o", "", "write the backup to this file (mode 0600, in place only once complete); default: stdout")
	role := fs.String("role", "", "the declared role to read as (default: the first role with SELECT that no restrictive policy narrows)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, e, "unexpected argument %q", fs.Arg(0))
	}
	if strings.TrimSpace(*ref) == "" {
		return usageError(fs, e, "--tenant is required")
	}
	job, code, ok := openTenantJob(ctx, e, fs, *ref, *role, schema.Select)
	if !ok {
		return code
	}
	defer job.pool.Close()
	w, where := e.stdout, "stdout"
	var file *atomicFile
	if *out != "" {
		var err error
		if file, err = createAtomic(*out); err != nil {
			return fail(e, "backup", err)
		}
		defer file.abort()
		w, where = file, *out
	}
	src := backup.Source{Tenancy: job.tenancy, Tenant: job.tenant, Role: job.role, SchemaVersion: job.version,
		CreatedAt: time.Now()}
	m, err := backup.Write(ctx, job.runner, src, w)
	if err != nil {
		return failBackup(e, "backup", err, job.role, "")
	}
	if file != nil {
		if err := file.commit(); err != nil {
			return fail(e, "backup", err)
		}
	}
	fmt.Fprintf(e.stderr, "Backed up tenant %s (%s) as role %s: %d rows in %d tables, schema version %d, to %s.\n",
		m.Tenant.Identifier, m.Tenant.ID, job.role, m.Rows, len(m.Tables), m.SchemaVersion, where)
	return exitOK
}

func cmdRestore(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "restore", restoreArgs)
	ref := fs.String("tenant", "", "the tenant to restore into, by identifier or UUID: it must exist in this database's registry (required)")
	replace := fs.Bool("replace", false, "delete the tenant's rows first (in the same transaction) instead of refusing a tenant that has rows")
	role := fs.String("role", "", "the declared role to write as (default: the first role with SELECT, INSERT (and DELETE with --replace) that no restrictive policy narrows)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch fs.NArg() {
	case 0:
		return usageError(fs, e, "name the backup file (- for stdin)")
	case 1:
	default:
		return usageError(fs, e, "unexpected argument %q", fs.Arg(1))
	}
	if strings.TrimSpace(*ref) == "" {
		return usageError(fs, e, "--tenant is required")
	}
	need := []schema.Privilege{schema.Select, schema.Insert}
	if *replace {
		need = append(need, schema.Delete)
	}
	job, code, ok := openTenantJob(ctx, e, fs, *ref, *role, need...)
	if !ok {
		return code
	}
	defer job.pool.Close()
	var in io.Reader = e.stdin
	if path := fs.Arg(0); path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fail(e, "restore", err)
		}
		defer f.Close()
		// Check the whole file before the transaction: a damaged file is refused before anything is sent. Restore
		// checks it again as it reads (all it can do with stdin), so a file changed in between is refused too.
		if _, err := backup.Verify(f); err != nil {
			return failBackup(e, "restore", err, job.role, "nothing was written")
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fail(e, "restore", err)
		}
		in = f
	}
	dst := backup.Target{Tenancy: job.tenancy, Tenant: job.tenant, Role: job.role, SchemaVersion: job.version,
		Replace: *replace}
	m, err := backup.Restore(ctx, job.runner, dst, in)
	if errors.Is(err, backup.ErrTenantHasRows) {
		return fail(e, "restore", fmt.Errorf("tenant %s already has rows%s: nothing was written. Pass --replace to "+
			"delete them and load the backup in their place, in one transaction", job.tenant.Identifier,
			strings.TrimPrefix(err.Error(), backup.ErrTenantHasRows.Error())))
	}
	if err != nil {
		return failBackup(e, "restore", err, job.role, "nothing was written")
	}
	fmt.Fprintf(e.stdout, "Restored %d rows in %d tables into tenant %s (%s), from the backup of tenant %s made %s "+
		"(schema version %d).\n", m.Rows, len(m.Tables), job.tenant.Identifier, job.tenant.ID, m.Tenant.Identifier,
		when(m.CreatedAt), m.SchemaVersion)
	return exitOK
}

// atomicFile is a file written under a temporary name in the same directory and renamed into place once
// complete, so that a failed backup never leaves a partial file where a good one is expected.
type atomicFile struct {
	*os.File
	path string
	done bool
}

func createAtomic(path string) (*atomicFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*") // mode 0600: tenant data
	if err != nil {
		return nil, err
	}
	return &atomicFile{File: f, path: path}, nil
}

// commit syncs the file and moves it into place.
func (f *atomicFile) commit() error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	f.done = true
	return nil
}

// abort removes the temporary file unless commit moved it into place.
func (f *atomicFile) abort() {
	if !f.done {
		f.Close()
		os.Remove(f.Name())
	}
}
