package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	gomigrate "github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	pgxdriver "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"pgtenant/engine/ddl"
	"pgtenant/schema"
)

// Status is where a database stands against a migrations directory.
type Status struct {
	Version   uint   // the version recorded in schema_migrations; 0 when no migration has been applied
	Dirty     bool   // the migration to Version failed; see the package comment for what that means and how to recover
	Available []uint // the versions in the directory, ascending
	Pending   []uint // the versions in the directory above Version, ascending: what Up would apply
}

// Up applies, in order, every migration in dir above the database's version, each file in one transaction. It
// returns the versions before and after (0 means none); having nothing to apply is not an error. After an error,
// to is the version reached, and the database may be dirty (see the package comment).
//
// golang-migrate takes no context: ctx bounds connecting, and its cancellation stops Up between two files, not
// inside one.
func Up(ctx context.Context, databaseURL, dir string) (from, to uint, err error) {
	r, err := open(ctx, databaseURL, dir)
	if err != nil {
		return 0, 0, err
	}
	defer r.close(&err)
	from, _, err = r.version()
	if err != nil {
		return 0, 0, err
	}
	if len(r.available) == 0 && from == 0 {
		return 0, 0, nil // golang-migrate calls an empty directory an error: "first .: file does not exist"
	}
	return r.run(ctx, "up", from, r.m.Up)
}

// UpSteps applies the next n (≥ 1) migrations of dir above the database's version, in order, each file in one
// transaction, and returns the versions before and after. It is an error to ask for more steps than are
// pending; then nothing is applied.
func UpSteps(ctx context.Context, databaseURL, dir string, n int) (from, to uint, err error) {
	if n < 1 {
		return 0, 0, fmt.Errorf("migrate: up %d: the number of steps must be at least 1", n)
	}
	r, err := open(ctx, databaseURL, dir)
	if err != nil {
		return 0, 0, err
	}
	defer r.close(&err)
	from, _, err = r.version()
	if err != nil {
		return 0, 0, err
	}
	pending := 0
	for _, v := range r.available {
		if v > from {
			pending++
		}
	}
	if n > pending {
		return from, from, fmt.Errorf("migrate: up %d: only %d migrations of %s are pending (version %d)", n,
			pending, dir, from)
	}
	return r.run(ctx, "up", from, func() error { return r.m.Steps(n) })
}

// Down reverts the n (≥ 1) most recently applied migrations, newest first, each file in one transaction. It
// returns the versions before and after (0 means none). It is an error to ask for more steps than there are
// applied migrations; then nothing is reverted.
func Down(ctx context.Context, databaseURL, dir string, n int) (from, to uint, err error) {
	if n < 1 {
		return 0, 0, fmt.Errorf("migrate: down %d: the number of steps must be at least 1", n)
	}
	r, err := open(ctx, databaseURL, dir)
	if err != nil {
		return 0, 0, err
	}
	defer r.close(&err)
	from, dirty, err := r.version()
	if err != nil {
		return 0, 0, err
	}
	if !dirty {
		applied := 0
		for _, v := range r.available {
			if v <= from && from != 0 {
				applied++
			}
		}
		if n > applied {
			return from, from, fmt.Errorf("migrate: down %d: only %d migrations of %s are applied (version %d)",
				n, applied, dir, from)
		}
	}
	return r.run(ctx, "down", from, func() error { return r.m.Steps(-n) })
}

// ReadStatus reports the database's version and which migrations of dir are pending. Like every function here
// it creates the schema_migrations table if it is missing.
func ReadStatus(ctx context.Context, databaseURL, dir string) (st Status, err error) {
	r, err := open(ctx, databaseURL, dir)
	if err != nil {
		return Status{}, err
	}
	defer r.close(&err)
	st.Version, st.Dirty, err = r.version()
	if err != nil {
		return Status{}, err
	}
	st.Available = r.available
	for _, v := range r.available {
		if v > st.Version {
			st.Pending = append(st.Pending, v)
		}
	}
	return st, nil
}

// Force records version (0: no migration) as the database's clean version without running anything. It is the
// way out of a dirty state (see the package comment); the error of the Up or Down that failed names the version
// to force.
func Force(ctx context.Context, databaseURL, dir string, version uint) (err error) {
	r, err := open(ctx, databaseURL, dir)
	if err != nil {
		return err
	}
	defer r.close(&err)
	v := int(version)
	if version == 0 {
		v = database.NilVersion
	} else if !slices.Contains(r.available, version) {
		return fmt.Errorf("migrate: force %d: %s has no migration %d", version, dir, version)
	}
	if err := r.m.Force(v); err != nil {
		return fmt.Errorf("migrate: force %d: %w", version, err)
	}
	return nil
}

// runner is one golang-migrate instance over one connection and one directory.
type runner struct {
	m         *gomigrate.Migrate
	drv       database.Driver // kept to read the version with its dirty flag (see version)
	dir       string
	available []uint
}

func open(ctx context.Context, databaseURL, dir string) (*runner, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("migrate: migrations directory: %w", err)
	}
	src, err := iofs.New(os.DirFS(dir), ".")
	if err != nil {
		return nil, fmt.Errorf("migrate: read %s: %w", dir, err)
	}
	available, err := versions(src)
	if err != nil {
		_ = src.Close()
		return nil, fmt.Errorf("migrate: read %s: %w", dir, err)
	}
	// We open the connection ourselves rather than give golang-migrate a pgx5:// URL: so that ctx bounds it, and
	// so that any URL or DSN pgx accepts works.
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		_ = src.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("migrate: connect: %w", err), db.Close(), src.Close())
	}
	drv, err := pgxdriver.WithInstance(db, &pgxdriver.Config{})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("migrate: %w", err), db.Close(), src.Close())
	}
	m, err := gomigrate.NewWithInstance("iofs", src, "pgx5", statementDriver{drv})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("migrate: %w", err), drv.Close(), src.Close())
	}
	return &runner{m: m, drv: drv, dir: dir, available: available}, nil
}

// close closes the source and the connection, adding any failure to *err.
func (r *runner) close(err *error) {
	srcErr, dbErr := r.m.Close()
	if srcErr != nil || dbErr != nil {
		*err = errors.Join(*err, fmt.Errorf("migrate: close: %w", errors.Join(srcErr, dbErr)))
	}
}

// version reads the recorded version (0 for none) and dirty flag. It asks the driver rather than
// Migrate.Version, which reports a failed down of the first migration (recorded as version -1, dirty) as "no
// version" and so hides the dirty flag that Up and Down then trip over.
func (r *runner) version() (uint, bool, error) {
	v, dirty, err := r.drv.Version()
	if err != nil {
		return 0, false, fmt.Errorf("migrate: read version: %w", err)
	}
	if v < 0 {
		return 0, dirty, nil
	}
	return uint(v), dirty, nil
}

// run runs one golang-migrate operation and reports the versions before and after it.
func (r *runner) run(ctx context.Context, verb string, from uint, op func() error) (uint, uint, error) {
	if err := ctx.Err(); err != nil {
		return from, from, fmt.Errorf("migrate: %s: %w", verb, err)
	}
	// GracefulStop makes golang-migrate stop before its next file; it cannot interrupt a running statement.
	stop := context.AfterFunc(ctx, func() {
		select {
		case r.m.GracefulStop <- true:
		default:
		}
	})
	err := op()
	stop()
	to, dirtyNow, verr := r.version()
	if verr != nil {
		to = from
	}
	var dirty gomigrate.ErrDirty
	switch {
	case errors.Is(err, gomigrate.ErrNoChange):
		err = nil
	case errors.As(err, &dirty):
		return from, to, fmt.Errorf("migrate: %s: version %d is marked dirty: a migration step to it failed and, "+
			"as each file runs in one transaction, was rolled back, so the database is still at the version "+
			"before that step: fix the file, Force that version, and run again: %w", verb, max(dirty.Version, 0), err)
	case err != nil && dirtyNow:
		return from, to, fmt.Errorf("migrate: %s %s: %w; version %d is now marked dirty, but the failed file was "+
			"rolled back (each file runs in one transaction) and the database is at version %d: fix the file, "+
			"Force version %d, and run again", verb, r.dir, err, to, r.before(verb, to), r.before(verb, to))
	case err != nil:
		return from, to, fmt.Errorf("migrate: %s %s: %w", verb, r.dir, err)
	}
	if err := ctx.Err(); err != nil {
		return from, to, fmt.Errorf("migrate: %s stopped at version %d: %w", verb, to, err)
	}
	return from, to, verr
}

// before returns the version the database was at before a failed step whose target version is target: the
// previous available version for up, the next one for down.
func (r *runner) before(verb string, target uint) uint {
	if verb == "down" {
		for _, v := range r.available {
			if v > target {
				return v
			}
		}
		return target
	}
	var prev uint
	for _, v := range r.available {
		if v < target {
			prev = v
		}
	}
	return prev
}

// versions lists the versions a source holds, ascending.
func versions(src source.Driver) ([]uint, error) {
	var vs []uint
	v, err := src.First()
	for err == nil {
		vs = append(vs, v)
		v, err = src.Next(v)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return vs, nil
}

// statementDriver runs a Citus migration (ddl.CitusMarker) one statement at a time in one explicit transaction,
// as psql does, instead of as one multi-statement string, which Citus cannot forward (see ddl.CitusMarker). Other
// migrations go to golang-migrate's driver as they are.
type statementDriver struct{ database.Driver }

// Run runs the migration read from r.
func (d statementDriver) Run(r io.Reader) error {
	text, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if !strings.Contains(string(text), ddl.CitusMarker) {
		return d.Driver.Run(bytes.NewReader(text))
	}
	stmts, err := schema.ParseScript(string(text))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := d.Driver.Run(strings.NewReader("BEGIN")); err != nil {
		return err
	}
	for _, s := range stmts {
		if err := d.Driver.Run(strings.NewReader(string(text[s.First:s.End]))); err != nil {
			return errors.Join(err, d.Driver.Run(strings.NewReader("ROLLBACK")))
		}
	}
	return d.Driver.Run(strings.NewReader("COMMIT"))
}
