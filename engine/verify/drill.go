package verify

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"pgtenant/engine/backup"
	"pgtenant/engine/ddl"
	"pgtenant/engine/drift"
	"pgtenant/engine/introspect"
	"pgtenant/engine/migrate"
	"pgtenant/engine/pgtx"
	"pgtenant/engine/scratch"
	"pgtenant/schema"
)

// The drills: checks that rehearse a recovery on a scratch database, slower than the others (seconds), so they
// run only when asked for (RunDrills). CheckMonitoring, like CheckServer, is run by engine/verify/httpcheck, which
// speaks HTTP.
const (
	CheckBackupDrill   = "backups tested: one tenant backed up, restored into a scratch database, compared row for row"
	CheckRollbackDrill = "rollback tested: every down migration reverts its up, on a scratch database"
	CheckMonitoring    = "monitoring in place: the admin listener answers /metrics and /readyz"
)

// drillTimeout bounds each drill when Config.Timeout is not larger: a scratch server, the migrations applied
// and reverted, a tenant backed up twice and restored once.
const drillTimeout = 5 * time.Minute

// drillPrefix starts the names of the drills' scratch databases and files.
const drillPrefix = "pgtenant_drill_"

// RunDrills runs CheckBackupDrill and CheckRollbackDrill, each on a scratch database of its own on the server
// cfg.Scratch provides, dropped afterwards, and returns their results in that order. Nothing of the live
// database changes: the backup is read under the tenant's row-level security as the app login, like `pgtenant
// backup`.
func RunDrills(ctx context.Context, cfg Config) []Result {
	names := []string{CheckBackupDrill, CheckRollbackDrill}
	if cfg.Scratch == nil {
		return failAll(names, "not checked: no server to create a scratch database on")
	}
	timeout := max(cfg.Timeout, drillTimeout)
	var out []Result
	err := cfg.Scratch(ctx, func(serverURL string) error {
		for _, drill := range []func(context.Context, Config, string) Result{backupDrill, rollbackDrill} {
			dctx, cancel := context.WithTimeout(ctx, timeout)
			out = append(out, drill(dctx, cfg, serverURL))
			cancel()
		}
		return nil
	})
	if err != nil && len(out) < len(names) {
		return failAll(names, "not checked: no scratch server: "+err.Error())
	}
	return out
}

// failAll fails the drills named for want of a scratch server.
func failAll(names []string, detail string) []Result {
	out := make([]Result, len(names))
	for i, n := range names {
		out[i] = Failed(n, detail, "set DEV_DATABASE_URL to a server where a scratch database may be created, or "+
			"install the PostgreSQL server binaries for a private throwaway one")
	}
	return out
}

// backupDrill returns CheckBackupDrill, with scratch databases on serverURL. It backs up one tenant (Config.DrillTenant, else the first active tenant
// registered) as `pgtenant backup` does, through the app login under the tenant's row-level security, into a
// file under Config.TempDir; creates a scratch database, applies MIGRATIONS_DIR to it and registers the tenant
// there with the same id and identifier; restores the file into it as `pgtenant restore` does (which itself
// checks every table against the file before it commits); backs the restored tenant up again and compares the
// two files row for row, table by table. The scratch database and both files are removed afterwards.
//
// What it proves: a backup of this database restores, under the same migrations, into an empty database and
// gives back every row of every tenant table of that tenant. What it cannot: other tenants, shared tables (not
// part of a backup), or a restore onto another schema version.
func backupDrill(ctx context.Context, cfg Config, serverURL string) Result {
	const name = CheckBackupDrill
	admin, err := connect(ctx, "ADMIN_DATABASE_URL", cfg.AdminURL, "the role that owns the tables")
	if err != nil {
		return Failed(name, "not checked: "+err.Error(), fixFor(err))
	}
	defer func() { _ = admin.Close(context.WithoutCancel(ctx)) }()
	if cfg.AppURL == "" {
		err := errors.New("DATABASE_URL is not set: point it at the API's login role")
		return Failed(name, "not checked: "+err.Error(), fixFor(err))
	}
	t, err := drillTenant(ctx, admin, cfg.DrillTenant)
	if err != nil {
		return Failed(name, err.Error(), "register a tenant (pgtenant tenant create), or pass --drill-tenant I")
	}
	version, err := backup.SchemaVersion(ctx, admin)
	if err != nil {
		return failedQuery(name, err)
	}
	role, err := backup.DefaultRole(cfg.Declared, schema.Select, schema.Insert)
	if err != nil {
		return Failed(name, "not checked: "+err.Error(), "declare a role with SELECT and INSERT that no "+
			"restrictive policy narrows")
	}
	pool, err := drillPool(ctx, cfg.AppURL)
	if err != nil {
		return Failed(name, "not checked: connect to DATABASE_URL: "+err.Error(), "")
	}
	defer pool.Close()

	original, err := drillFile(cfg.TempDir)
	if err != nil {
		return Failed(name, "not checked: "+err.Error(), "set TMPDIR to a writable directory with room for the backup")
	}
	defer removeFile(original)
	// The drill signs its backup with a key of its own, so that the restore takes the path an authenticated
	// backup takes (BACKUP_KEY), HMAC check included.
	secret := make([]byte, backup.MinKeyBytes)
	if _, err := rand.Read(secret); err != nil {
		return Failed(name, "not checked: "+err.Error(), "")
	}
	key, err := backup.NewKey(secret)
	if err != nil {
		return Failed(name, "not checked: "+err.Error(), "")
	}
	src := backup.Source{Tenancy: cfg.Declared.Tenancy, Tenant: t, Role: role, SchemaVersion: version, Key: key}
	m, err := backup.Write(ctx, pgtx.New(pool), src, original)
	if err != nil {
		return Failed(name, fmt.Sprintf("the backup of tenant %s failed: %v", t.Identifier, err),
			"run pgtenant backup --tenant "+t.Identifier+" to see why")
	}
	err = scratch.With(ctx, serverURL, drillPrefix, func(database string) error {
		scratch, err := withDatabase(serverURL, database)
		if err != nil {
			return err
		}
		return restoreDrill(ctx, cfg, scratch, src, original)
	})
	if err != nil {
		return Failed(name, fmt.Sprintf("tenant %s (%d rows in %d tables): %v", t.Identifier, m.Rows, len(m.Tables), err),
			"run pgtenant backup and pgtenant restore by hand on a scratch database to see why; the restore must "+
				"pass before a backup can be trusted")
	}
	return Passed(name, fmt.Sprintf("tenant %s: %d rows in %d tables backed up, restored into a scratch database "+
		"and found equal row for row", t.Identifier, m.Rows, len(m.Tables)))
}

// restoreDrill migrates the scratch database, registers the tenant, restores the backup in original as the
// declared role, backs the tenant up again and compares the two files.
func restoreDrill(ctx context.Context, cfg Config, scratch string, src backup.Source, original *os.File) error {
	_, version, err := migrate.Up(ctx, scratch, cfg.MigrationsDir)
	if err != nil {
		return fmt.Errorf("apply MIGRATIONS_DIR to the scratch database: %w", err)
	}
	if version != src.SchemaVersion {
		return fmt.Errorf("the database is at migration version %d, MIGRATIONS_DIR at %d: run pgtenant "+
			"migrate up, or point MIGRATIONS_DIR at this database's migrations", src.SchemaVersion, version)
	}
	conn, err := pgx.Connect(ctx, scratch)
	if err != nil {
		return fmt.Errorf("connect to the scratch database: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, `INSERT INTO pgtenant.tenants (id, identifier, name, created_by)
		VALUES ($1, $2, $3, $4)`, src.Tenant.ID, src.Tenant.Identifier, "restore drill of pgtenant verify",
		probeCreatedBy); err != nil {
		return fmt.Errorf("register the tenant in the scratch database: %w", err)
	}
	// The restore runs as the declared role, as the API's login would: a server role that is not a superuser
	// (DEV_DATABASE_URL) needs to be a member of it to switch to it.
	c, err := introspect.Read(ctx, conn)
	if err != nil {
		return err
	}
	if !c.Role.Super {
		if _, err := conn.Exec(ctx, "GRANT "+ddl.Ident(src.Role)+" TO CURRENT_USER"); err != nil {
			return fmt.Errorf("grant role %s to the scratch server's login, to restore as it: %w", src.Role, err)
		}
	}
	pool, err := drillPool(ctx, scratch)
	if err != nil {
		return fmt.Errorf("connect to the scratch database: %w", err)
	}
	defer pool.Close()
	runner := pgtx.New(pool)
	if _, err := original.Seek(0, io.SeekStart); err != nil {
		return err
	}
	dst := backup.Target{Tenancy: src.Tenancy, Tenant: src.Tenant, Role: src.Role, SchemaVersion: version,
		Trust: backup.Trust{Key: src.Key}}
	if _, err := backup.Restore(ctx, runner, dst, original); err != nil {
		return fmt.Errorf("the restore failed: %w", err)
	}
	restored, err := drillFile(cfg.TempDir)
	if err != nil {
		return err
	}
	defer removeFile(restored)
	again := src
	again.SchemaVersion = version
	if _, err := backup.Write(ctx, runner, again, restored); err != nil {
		return fmt.Errorf("back up the restored tenant: %w", err)
	}
	return compareBackups(original, restored)
}

// compareBackups compares the rows of two backups of the same schema, table by table and row by row (the lines
// between a table's marker and its end, in primary key order), and says where they first differ. The header,
// trailer and checksum lines are not compared: they hold the time each backup was made.
func compareBackups(a, b *os.File) error {
	for _, f := range []*os.File{a, b} {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	ra, rb := bufio.NewReaderSize(a, 64<<10), bufio.NewReaderSize(b, 64<<10)
	table, row := "", 0
	for line := 1; ; line++ {
		la, errA := ra.ReadBytes('\n')
		lb, errB := rb.ReadBytes('\n')
		if errA == io.EOF && errB == io.EOF && len(la) == 0 && len(lb) == 0 {
			return nil
		}
		if errA != nil && errA != io.EOF {
			return errA
		}
		if errB != nil && errB != io.EOF {
			return errB
		}
		switch {
		case line == 1 || isManifestLine(la) && isManifestLine(lb):
			continue // a header or trailer: made at different times
		case bytes.HasPrefix(la, []byte(`{"table":`)):
			table, row = strings.TrimSpace(string(la)), 0
		case string(la) == "\\.\n":
		default:
			row++
		}
		if !bytes.Equal(la, lb) {
			if table == "" {
				return errors.New("the restored tenant's backup has other tables than the original's")
			}
			return fmt.Errorf("the restored rows differ from the backed-up ones: %s, row %d (in primary key "+
				"order)", table, row)
		}
	}
}

// isManifestLine reports whether a backup line is its trailer or its checksum line.
func isManifestLine(line []byte) bool {
	return bytes.HasPrefix(line, []byte(`{"format":`)) || bytes.HasPrefix(line, []byte(`{"sha256":`))
}

// rollbackDrill returns CheckRollbackDrill. On a scratch database on serverURL it applies MIGRATIONS_DIR one migration at a
// time, reading the catalog (engine/drift: tables, columns, constraints, indexes, policies, triggers, grants,
// functions, the pgtenant schema) before the first and after each; then it applies every down migration, newest
// first, and after each compares the catalog with the one read before its up migration; then it applies them
// all again and compares with the catalog of the first pass. The scratch database is dropped afterwards.
//
// What it proves: each down migration of MIGRATIONS_DIR undoes its up migration exactly, on an empty database,
// and the migrations apply again after a full rollback. What it cannot: rows (a down migration that drops a
// table drops its rows; restore them from a backup) or a database that differs from MIGRATIONS_DIR (CheckSchema).
func rollbackDrill(ctx context.Context, cfg Config, serverURL string) Result {
	const name = CheckRollbackDrill
	list, err := migrate.List(cfg.MigrationsDir)
	if err != nil {
		return failedQuery(name, err)
	}
	if len(list) == 0 {
		return Failed(name, fmt.Sprintf("MIGRATIONS_DIR %s holds no migration", cfg.MigrationsDir),
			"point MIGRATIONS_DIR at the migrations directory of this deployment")
	}
	var problems []problem
	err = scratch.With(ctx, serverURL, drillPrefix, func(database string) error {
		scratch, err := withDatabase(serverURL, database)
		if err != nil {
			return err
		}
		problems, err = rehearseRollback(ctx, scratch, cfg.MigrationsDir, list)
		return err
	})
	if err != nil {
		return Failed(name, "not checked: "+err.Error(), "")
	}
	return result(name, fmt.Sprintf("%d migration(s) applied, reverted one by one and applied again", len(list)),
		problems)
}

// rehearseRollback is rollbackDrill on the scratch database at scratch.
func rehearseRollback(ctx context.Context, scratch, dir string, list []migrate.Migration) ([]problem, error) {
	conn, err := pgx.Connect(ctx, scratch)
	if err != nil {
		return nil, fmt.Errorf("connect to the scratch database: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	read := func() (*drift.Catalog, error) { return drift.Read(ctx, conn) }
	before := make([]*drift.Catalog, 0, len(list)+1) // before[i]: the catalog at the version of list[i-1]
	c, err := read()
	if err != nil {
		return nil, err
	}
	before = append(before, c)
	for _, m := range list {
		if _, _, err := migrate.UpSteps(ctx, scratch, dir, 1); err != nil {
			return nil, fmt.Errorf("apply %s: %w", m.UpFile(), err)
		}
		if c, err = read(); err != nil {
			return nil, err
		}
		before = append(before, c)
	}
	var problems []problem
	for i := len(list) - 1; i >= 0; i-- {
		if _, _, err := migrate.Down(ctx, scratch, dir, 1); err != nil {
			return append(problems, problem{fmt.Sprintf("%s fails: %v", list[i].DownFile(), err),
				"fix the down migration; it must run after its up migration"}), nil
		}
		got, err := read()
		if err != nil {
			return nil, err
		}
		if diffs := drift.Compare(before[i], got); len(diffs) > 0 {
			problems = append(problems, problem{fmt.Sprintf("%s does not undo %s: %s", list[i].DownFile(),
				list[i].UpFile(), describeDiffs(diffs)), "fix the down migration so that it reverts its up migration"})
		}
	}
	if _, _, err := migrate.Up(ctx, scratch, dir); err != nil {
		return append(problems, problem{fmt.Sprintf("the migrations do not apply again after the rollback: %v", err),
			"fix the down migrations: they leave something that the up migrations then trip over"}), nil
	}
	got, err := read()
	if err != nil {
		return nil, err
	}
	if diffs := drift.Compare(before[len(list)], got); len(diffs) > 0 {
		problems = append(problems, problem{"applied again after the rollback, the migrations give another schema: " +
			describeDiffs(diffs), "fix the down migrations so that they revert everything their up migrations do"})
	}
	return problems, nil
}

// describeDiffs names the first few differences.
func describeDiffs(diffs []drift.Difference) string {
	var parts []string
	for i, d := range diffs {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(diffs)-3))
			break
		}
		parts = append(parts, d.Object+": "+d.What)
	}
	return strings.Join(parts, "; ")
}

// drillTenant finds the tenant to back up: ref (an identifier or UUID), or the first active tenant registered
// that is not one of the probe's temporary tenants.
func drillTenant(ctx context.Context, admin *pgx.Conn, ref string) (backup.Tenant, error) {
	var t backup.Tenant
	var err error
	if ref == "" {
		err = admin.QueryRow(ctx, `SELECT id::text, identifier FROM pgtenant.tenants
			WHERE is_active AND created_by <> $1 ORDER BY created_at, identifier LIMIT 1`, probeCreatedBy).
			Scan(&t.ID, &t.Identifier)
		if errors.Is(err, pgx.ErrNoRows) {
			return t, errors.New("no active tenant is registered: there is nothing to back up")
		}
	} else {
		err = admin.QueryRow(ctx, `SELECT id::text, identifier FROM pgtenant.tenants
			WHERE identifier = $1 OR id::text = lower($1)`, ref).Scan(&t.ID, &t.Identifier)
		if errors.Is(err, pgx.ErrNoRows) {
			return t, fmt.Errorf("no tenant %q is registered", ref)
		}
	}
	if err != nil {
		return t, fmt.Errorf("not checked: read the registry: %w", err)
	}
	return t, nil
}

// drillPool is a one-connection pool on url, for one transaction at a time.
func drillPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "pgtenant verify"
	cfg.MaxConns = 1
	return pgxpool.NewWithConfig(ctx, cfg)
}

// drillFile creates a file for a backup under dir ("" for the system's temporary directory), mode 0600: it
// holds tenant data.
func drillFile(dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, drillPrefix+"*.backup")
	if err != nil {
		return nil, fmt.Errorf("create the drill's backup file: %w", err)
	}
	return f, nil
}

func removeFile(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}

// withDatabase is serverURL with its database replaced.
func withDatabase(serverURL, database string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil || u.Scheme == "" {
		return "", errors.New("the scratch server's URL does not parse as postgres://…")
	}
	u.Path = "/" + database
	return u.String(), nil
}
