package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/ddl"
	"pgtenant/engine/introspect"
	"pgtenant/engine/migrate"
	"pgtenant/schema"
)

// migrationChecks returns CheckMigrations and CheckSchema, read as the owner.
func (s *session) migrationChecks(ctx context.Context) []Result {
	if r := s.needAdmin(CheckMigrations, CheckSchema); r != nil {
		return r
	}
	return []Result{s.checkMigrations(ctx), s.checkSchema(ctx)}
}

// checkMigrations compares golang-migrate's record in the database (schema_migrations in the owner's current
// schema, as its pgx driver keeps it; read directly, never created) with MIGRATIONS_DIR: the recorded version is
// the directory's last one and is not dirty.
func (s *session) checkMigrations(ctx context.Context) Result {
	dir := s.cfg.MigrationsDir
	available, err := migrate.List(dir)
	if err != nil {
		return failedQuery(CheckMigrations, err)
	}
	if len(available) == 0 {
		return Failed(CheckMigrations, fmt.Sprintf("MIGRATIONS_DIR %s holds no migration", dir),
			"point MIGRATIONS_DIR at the migrations directory of this deployment")
	}
	last := available[len(available)-1].Version
	c, err := s.adminCatalog(ctx)
	if err != nil {
		return failedQuery(CheckMigrations, err)
	}
	if c.CurrentSchema == "" || c.Table(c.CurrentSchema, "schema_migrations") == nil {
		return Failed(CheckMigrations, "no migration was ever applied to this database (it has no schema_migrations)",
			"pgtenant migrate up")
	}
	var version int64
	var dirty bool
	table := ddl.Qualified(c.CurrentSchema, "schema_migrations")
	err = s.admin.QueryRow(ctx, "SELECT version, dirty FROM "+table+" LIMIT 1").Scan(&version, &dirty)
	if errors.Is(err, pgx.ErrNoRows) {
		version, err = 0, nil
	}
	if err != nil {
		return failedQuery(CheckMigrations, err)
	}
	switch {
	case dirty:
		return Failed(CheckMigrations, fmt.Sprintf("version %d is marked dirty: a migration failed, and was rolled "+
			"back", version), "fix the failed file, then pgtenant migrate force <the version the database is at> "+
			"and pgtenant migrate up")
	case version > int64(last):
		return Failed(CheckMigrations, fmt.Sprintf("the database is at version %d, after %s's last migration %d",
			version, dir, last), "run this check with the migrations directory of the deployed release")
	case version < int64(last):
		var pending []string
		for _, m := range available {
			if int64(m.Version) > version {
				pending = append(pending, m.UpFile())
			}
		}
		return Failed(CheckMigrations, fmt.Sprintf("the database is at version %d; pending: %s", version,
			strings.Join(pending, ", ")), "pgtenant migrate up")
	}
	return Passed(CheckMigrations, fmt.Sprintf("version %d", version))
}

// checkSchema compares the declaration with migrations/schema.json (what the last migration produced: `pgtenant
// generate` is due when they differ) and with the live tables (introspect.Load as the owner): each declared table
// exists, is tenant or shared as declared, and has the declared columns (type by introspect.SameType, NOT NULL,
// whether it has a default), primary key, unique indexes and foreign keys, and nothing more. Tables nobody
// declared are left to the RLS checks. Default expressions and check constraints are compared by presence and
// name only: PostgreSQL rewrites their text.
func (s *session) checkSchema(ctx context.Context) Result {
	m := s.cfg.Declared
	var problems []problem
	snap, err := migrate.ReadSnapshot(s.cfg.MigrationsDir)
	switch {
	case err != nil:
		return failedQuery(CheckSchema, err)
	case snap == nil:
		problems = append(problems, problem{fmt.Sprintf("%s has no %s", s.cfg.MigrationsDir, migrate.SnapshotFile),
			"pgtenant generate"})
	case !ddl.Equal(snap, m):
		problems = append(problems, problem{"policies.hcl differs from " + migrate.SnapshotFile + ", the model " +
			"the last migration produced", "pgtenant generate, review the new migration, then pgtenant migrate up"})
	}
	c, err := s.adminCatalog(ctx)
	if err != nil {
		return failedQuery(CheckSchema, err)
	}
	live := c.Model(m.Tenancy)
	for _, t := range m.Tables {
		lt := live.Table(t.Name)
		if lt == nil {
			problems = append(problems, problem{fmt.Sprintf("table %s is declared but missing, or ADMIN_DATABASE_URL's role "+
				"has no privilege on it", qualified(t.Name)), "pgtenant migrate up"})
			continue
		}
		for _, d := range tableDiff(t, lt) {
			problems = append(problems, problem{fmt.Sprintf("table %s: %s", qualified(t.Name), d),
				"undo the change made outside the migrations, or declare it in policies.hcl and pgtenant generate"})
		}
	}
	return result(CheckSchema, fmt.Sprintf("%d tables", len(m.Tables)), problems)
}

// tableDiff lists how the live table differs from the declared one.
func tableDiff(want, got *schema.Table) []string {
	var out []string
	if want.Shared != got.Shared {
		kind := map[bool]string{true: "shared (no tenant column)", false: "a tenant table"}
		out = append(out, fmt.Sprintf("is %s, declared %s", kind[got.Shared], kind[want.Shared]))
	}
	for _, c := range want.Columns {
		g := got.Column(c.Name)
		if g == nil {
			out = append(out, fmt.Sprintf("column %s is missing", c.Name))
			continue
		}
		if !introspect.SameType(c.Type, g.Type) {
			out = append(out, fmt.Sprintf("column %s is %s, declared %s", c.Name, g.Type, c.Type))
		}
		if c.Null != g.Null {
			out = append(out, fmt.Sprintf("column %s is %s, declared %s", c.Name, nullness(g.Null), nullness(c.Null)))
		}
		if (c.Default != "") != (g.Default != "") {
			out = append(out, fmt.Sprintf("column %s has default %q, declared %q", c.Name, g.Default, c.Default))
		}
	}
	for _, g := range got.Columns {
		if want.Column(g.Name) == nil {
			out = append(out, fmt.Sprintf("column %s is not declared", g.Name))
		}
	}
	if got.PrimaryKey == nil || !slices.Equal(want.PrimaryKey.Columns, got.PrimaryKey.Columns) {
		var cols []string
		if got.PrimaryKey != nil {
			cols = got.PrimaryKey.Columns
		}
		out = append(out, fmt.Sprintf("primary key is (%s), declared (%s)", strings.Join(cols, ", "),
			strings.Join(want.PrimaryKey.Columns, ", ")))
	}
	// Load reads back the unique indexes a conflict target can use: unique, not partial.
	liveIdx := map[string]*schema.Index{}
	for _, ix := range got.Indexes {
		liveIdx[ix.Name] = ix
	}
	for _, ix := range want.Indexes {
		if !ix.Unique || ix.Where != "" {
			continue
		}
		g, ok := liveIdx[ix.Name]
		if !ok {
			out = append(out, fmt.Sprintf("unique index %s is missing", ix.Name))
		} else if !slices.Equal(ix.Columns, g.Columns) {
			out = append(out, fmt.Sprintf("unique index %s is on (%s), declared (%s)", ix.Name,
				strings.Join(g.Columns, ", "), strings.Join(ix.Columns, ", ")))
		}
		delete(liveIdx, ix.Name)
	}
	for name := range liveIdx {
		out = append(out, fmt.Sprintf("unique index %s is not declared", name))
	}
	liveFK := map[string]*schema.ForeignKey{}
	for _, fk := range got.ForeignKeys {
		liveFK[fk.Name] = fk
	}
	for _, fk := range want.ForeignKeys {
		g, ok := liveFK[fk.Name]
		delete(liveFK, fk.Name)
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("foreign key %s is missing", fk.Name))
		case g.RefTable != fk.RefTable || !slices.Equal(g.Columns, fk.Columns) || !slices.Equal(g.RefColumns, fk.RefColumns):
			out = append(out, fmt.Sprintf("foreign key %s is (%s) → %s (%s), declared (%s) → %s (%s)", fk.Name,
				strings.Join(g.Columns, ", "), g.RefTable, strings.Join(g.RefColumns, ", "),
				strings.Join(fk.Columns, ", "), fk.RefTable, strings.Join(fk.RefColumns, ", ")))
		case action(g.OnDelete) != action(fk.OnDelete):
			out = append(out, fmt.Sprintf("foreign key %s is ON DELETE %s, declared %s", fk.Name,
				action(g.OnDelete), action(fk.OnDelete)))
		}
	}
	for name := range liveFK {
		out = append(out, fmt.Sprintf("foreign key %s is not declared", name))
	}
	liveChecks := map[string]bool{}
	for _, c := range got.Checks {
		liveChecks[c.Name] = true
	}
	for _, c := range want.Checks {
		if !liveChecks[c.Name] {
			out = append(out, fmt.Sprintf("check constraint %s is missing", c.Name))
		}
	}
	slices.Sort(out) // some come from maps: keep the output stable
	return out
}

func nullness(null bool) string {
	if null {
		return "nullable"
	}
	return "NOT NULL"
}

func action(a schema.Action) schema.Action {
	if a == "" {
		return schema.NoAction
	}
	return a
}
