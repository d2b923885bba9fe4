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

	"filippo.io/age"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"pgtenant/engine/backup"
	"pgtenant/engine/pgtx"
	"pgtenant/engine/registry"
	"pgtenant/schema"
)

const (
	backupArgs  = "--tenant I [-o FILE] [--role R] [--recipient AGE_KEY …] [--recipients-file FILE]"
	restoreArgs = "--tenant I [--replace] [--role R] [--identity FILE …] [--allow-unauthenticated] FILE|-"
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
	switch {
	case errors.Is(err, backup.ErrUnauthenticated):
		msg += ". Set BACKUP_KEY to the key the backup was written with, or pass --allow-unauthenticated to restore " +
			"it without knowing where it came from"
	case errors.Is(err, backup.ErrForged):
		msg += ". Do not restore this file: it was not written with this BACKUP_KEY as it is"
	}
	return fail(e, verb, errors.New(msg))
}

func cmdBackup(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "backup", backupArgs)
	ref := fs.String("tenant", "", "the tenant to back up: its identifier or UUID (required)")
	out := fs.String("o", "", "write the backup to this file (mode 0600, in place only once complete); default: stdout")
	role := fs.String("role", "", "the declared role to read as (default: the first role with SELECT that no restrictive policy narrows)")
	var recipientArgs refs
	fs.Var(&recipientArgs, "recipient", "encrypt the backup with age to this public key (age1…); repeat for several")
	recipientsFile := fs.String("recipients-file", "", "encrypt the backup with age to the public keys of this file, one a line")
	if code, ok := e.parseNoArgs(fs, args); !ok {
		return code
	}
	if strings.TrimSpace(*ref) == "" {
		return usageError(fs, e, "--tenant is required")
	}
	recipients, err := ageRecipients(recipientArgs, *recipientsFile)
	if err != nil {
		return usageError(fs, e, "%v", err)
	}
	key, err := backupKey(e)
	if err != nil {
		return fail(e, "backup", err)
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
	var sealed io.WriteCloser
	if len(recipients) > 0 {
		if sealed, err = age.Encrypt(w, recipients...); err != nil {
			return fail(e, "backup", fmt.Errorf("age: %w", err))
		}
		w = sealed
	}
	src := backup.Source{Tenancy: job.tenancy, Tenant: job.tenant, Role: job.role, SchemaVersion: job.version,
		CreatedAt: time.Now(), Key: key}
	m, err := backup.Write(ctx, job.runner, src, w)
	if err != nil {
		return failBackup(e, "backup", err, job.role, "")
	}
	if sealed != nil {
		if err := sealed.Close(); err != nil {
			return fail(e, "backup", fmt.Errorf("age: %w", err))
		}
	}
	if file != nil {
		if err := file.commit(); err != nil {
			return fail(e, "backup", err)
		}
	}
	protection := "authenticated with BACKUP_KEY (key id " + m.KeyID + ")"
	if key == nil {
		protection = "NOT authenticated (BACKUP_KEY is not set: a restore needs --allow-unauthenticated)"
	}
	if len(recipients) > 0 {
		protection += fmt.Sprintf(", encrypted with age to %d recipient(s)", len(recipients))
	} else {
		protection += ", not encrypted"
	}
	fmt.Fprintf(e.stderr, "Backed up tenant %s (%s) as role %s: %d rows in %d tables, schema version %d, to %s; %s.\n",
		m.Tenant.Identifier, m.Tenant.ID, job.role, m.Rows, len(m.Tables), m.SchemaVersion, where, protection)
	return exitOK
}

// backupKey is BACKUP_KEY as a backup.Key, nil when it is not set.
func backupKey(e *env) (*backup.Key, error) {
	if e.cfg.BackupKey == "" {
		return nil, nil
	}
	k, err := backup.NewKey([]byte(e.cfg.BackupKey))
	if err != nil {
		return nil, fmt.Errorf("BACKUP_KEY: %s", strings.TrimPrefix(err.Error(), "backup: "))
	}
	return k, nil
}

// ageRecipients parses the --recipient values and the --recipients-file (age's recipients file format: one
// public key a line, # comments).
func ageRecipients(args []string, file string) ([]age.Recipient, error) {
	var out []age.Recipient
	for _, a := range args {
		rs, err := age.ParseRecipients(strings.NewReader(a))
		if err != nil {
			return nil, fmt.Errorf("--recipient %q: %w", a, err)
		}
		out = append(out, rs...)
	}
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("--recipients-file: %w", err)
		}
		defer f.Close()
		rs, err := age.ParseRecipients(f)
		if err != nil {
			return nil, fmt.Errorf("--recipients-file %s: %w", file, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

// ageIdentities reads the --identity files (age's identity file format, as age-keygen writes it).
func ageIdentities(files []string) ([]age.Identity, error) {
	var out []age.Identity
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--identity: %w", err)
		}
		ids, err := age.ParseIdentities(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("--identity %s: %w", path, err)
		}
		out = append(out, ids...)
	}
	return out, nil
}

func cmdRestore(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "restore", restoreArgs)
	ref := fs.String("tenant", "", "the tenant to restore into, by identifier or UUID: it must exist in this database's registry (required)")
	replace := fs.Bool("replace", false, "delete the tenant's rows first (in the same transaction) instead of refusing a tenant that has rows")
	role := fs.String("role", "", "the declared role to write as (default: the first role with SELECT, INSERT (and DELETE with --replace) that no restrictive policy narrows)")
	var identityFiles refs
	fs.Var(&identityFiles, "identity", "an age identity file (age-keygen's) to decrypt an encrypted backup; repeat for several")
	allowUnauth := fs.Bool("allow-unauthenticated", false, "restore a file whose origin cannot be verified: one without "+
		"an HMAC, or any file when BACKUP_KEY is not set. What it claims (its source tenant) is then unverified")
	if code, ok := e.parse(fs, args); !ok {
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
	identities, err := ageIdentities(identityFiles)
	if err != nil {
		return usageError(fs, e, "%v", err)
	}
	key, err := backupKey(e)
	if err != nil {
		return fail(e, "restore", err)
	}
	trust := backup.Trust{Key: key, AllowUnauthenticated: *allowUnauth}
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
		// Check the whole file before the transaction: a damaged or forged file is refused before anything is
		// sent. Restore checks it again as it reads (all it can do with stdin), so a file changed in between is
		// refused too.
		plain, _, err := backup.Decrypt(f, identities)
		if err == nil {
			_, err = backup.Verify(plain, trust)
		}
		if err != nil {
			return failBackup(e, "restore", err, job.role, "nothing was written")
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fail(e, "restore", err)
		}
		in = f
	}
	in, _, err = backup.Decrypt(in, identities)
	if err != nil {
		return failBackup(e, "restore", err, job.role, "nothing was written")
	}
	dst := backup.Target{Tenancy: job.tenancy, Tenant: job.tenant, Role: job.role, SchemaVersion: job.version,
		Replace: *replace, Trust: trust}
	m, err := backup.Restore(ctx, job.runner, dst, in)
	if errors.Is(err, backup.ErrTenantHasRows) {
		return fail(e, "restore", fmt.Errorf("tenant %s already has rows%s: nothing was written. Pass --replace to "+
			"delete them and load the backup in their place, in one transaction", job.tenant.Identifier,
			strings.TrimPrefix(err.Error(), backup.ErrTenantHasRows.Error())))
	}
	if err != nil {
		return failBackup(e, "restore", err, job.role, "nothing was written")
	}
	if !m.Authenticated {
		// Nothing in the file is vouched for: its claims are reported as claims, never as facts.
		fmt.Fprintf(e.stderr, "pgtenant restore: warning: the file's origin is NOT verified (%s): anyone who could "+
			"write it could have chosen its rows and what it says about itself.\n", unverifiedWhy(m, key))
		fmt.Fprintf(e.stdout, "Restored %d rows in %d tables into tenant %s (%s), from an unauthenticated file that "+
			"claims, unverified, to be a backup of tenant %q made %s (schema version %d).\n", m.Rows, len(m.Tables),
			job.tenant.Identifier, job.tenant.ID, m.Tenant.Identifier, when(m.CreatedAt), m.SchemaVersion)
		return exitOK
	}
	fmt.Fprintf(e.stdout, "Restored %d rows in %d tables into tenant %s (%s), from the backup of tenant %s made %s "+
		"(schema version %d, HMAC verified with BACKUP_KEY, key id %s).\n", m.Rows, len(m.Tables), job.tenant.Identifier,
		job.tenant.ID, m.Tenant.Identifier, when(m.CreatedAt), m.SchemaVersion, m.KeyID)
	return exitOK
}

// unverifiedWhy says why a restored file's origin was not verified.
func unverifiedWhy(m *backup.Manifest, key *backup.Key) string {
	switch {
	case m.FormatVersion < backup.FormatVersion:
		return fmt.Sprintf("format version %d has no HMAC", m.FormatVersion)
	case m.MAC == "":
		return "it carries no HMAC: it was written without BACKUP_KEY"
	case key == nil:
		return "BACKUP_KEY is not set, so its HMAC was not checked"
	}
	return "its HMAC was not checked"
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
