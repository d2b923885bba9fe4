package verify_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/registry"
	"pgtenant/engine/verify"
	"pgtenant/internal/pgtest"
)

// withDrills is cfg with the drills' settings: scratch databases through a dev server login on the test cluster
// (no superuser, as DEV_DATABASE_URL would be), files under a directory of the test's own.
func withDrills(t *testing.T, db *pgtest.DB, cfg verify.Config) verify.Config {
	t.Helper()
	dev := db.DevServerURL(t)
	cfg.Scratch = func(_ context.Context, fn func(string) error) error { return fn(dev) }
	cfg.TempDir = t.TempDir()
	return cfg
}

// seedTenant registers a tenant and gives it a namespace, two pages (one with NULLs, one with text that COPY
// escapes) and a tag, written as the app login under the tenant, as the API writes.
func seedTenant(t *testing.T, db *pgtest.DB, cfg verify.Config, identifier string) {
	t.Helper()
	ctx := t.Context()
	tn, err := registry.CreateTenant(ctx, db.Owner, identifier, identifier, "verify-test")
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, cfg.AppURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	require.NoError(t, pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('app.current_tenant_id', $1, true), set_config('role', 'app', true)",
			tn.ID); err != nil {
			return err
		}
		var ns string
		if err := tx.QueryRow(ctx, "INSERT INTO content_namespace (slug, name) VALUES ('www', 'Site') RETURNING id::text").
			Scan(&ns); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO webpages_webpage (namespace_id, slug, title, body, is_published,
			published_at) VALUES ($1, 'home', 'Home', E'tab\there\nline\\slash', true, now()),
			($1, 'draft', 'Draft', NULL, false, NULL)`, ns)
		return err
	}))
}

// TestRunDrills_Clean: on a clean deployment with a tenant that has rows, both drills pass, and leave no file
// and no scratch database behind.
func TestRunDrills_Clean(t *testing.T) {
	db, cfg := clean(t)
	seedTenant(t, db, cfg, "acme")
	cfg = withDrills(t, db, cfg)
	results := verify.RunDrills(t.Context(), cfg)
	require.Len(t, results, 2)
	for _, r := range results {
		t.Logf("%v %s — %s | %s", r.OK, r.Name, r.Detail, r.Fix)
	}
	assert.Equal(t, verify.CheckBackupDrill, results[0].Name)
	assert.Equal(t, verify.CheckRollbackDrill, results[1].Name)
	assert.Empty(t, failures(results))
	assert.Contains(t, results[0].Detail, "tenant acme: 3 rows in")

	entries, err := os.ReadDir(cfg.TempDir)
	require.NoError(t, err)
	assert.Empty(t, entries, "the backup files are removed")
	var left int
	require.NoError(t, db.Owner.QueryRow(t.Context(),
		"SELECT count(*) FROM pg_database WHERE datname LIKE 'pgtenant\\_drill\\_%'").Scan(&left))
	assert.Zero(t, left, "the scratch databases are dropped")
}

// TestRunDrills_Broken: each drill fails, naming what is wrong, when what it rehearses would fail for real.
func TestRunDrills_Broken(t *testing.T) {
	t.Run("a down migration that does not undo its up", func(t *testing.T) {
		db, cfg := clean(t)
		cfg = withDrills(t, db, cfg)
		cfg.MigrationsDir = copyMigrations(t, map[string]string{
			"000002_note.up.sql":   "CREATE TABLE public.drill_note (id int PRIMARY KEY);\n",
			"000002_note.down.sql": "SELECT 1;\n",
		})
		r := verify.RunDrills(t.Context(), cfg)[1]
		assert.False(t, r.OK)
		assert.Contains(t, r.Detail, "000002_note.down.sql does not undo 000002_note.up.sql: table public.drill_note")
		assert.Contains(t, r.Fix, "fix the down migration")
	})
	t.Run("no tenant to back up", func(t *testing.T) {
		db, cfg := clean(t)
		cfg = withDrills(t, db, cfg)
		r := verify.RunDrills(t.Context(), cfg)[0]
		assert.False(t, r.OK)
		assert.Contains(t, r.Detail, "no active tenant is registered")
		cfg.DrillTenant = "nobody"
		r = verify.RunDrills(t.Context(), cfg)[0]
		assert.Contains(t, r.Detail, `no tenant "nobody" is registered`)
	})
	t.Run("MIGRATIONS_DIR ahead of the database", func(t *testing.T) {
		db, cfg := clean(t)
		seedTenant(t, db, cfg, "acme")
		cfg = withDrills(t, db, cfg)
		cfg.MigrationsDir = copyMigrations(t, map[string]string{
			"000002_more.up.sql": "SELECT 1;\n", "000002_more.down.sql": "SELECT 1;\n"})
		r := verify.RunDrills(t.Context(), cfg)[0]
		assert.False(t, r.OK)
		assert.Contains(t, r.Detail, "the database is at migration version 1, MIGRATIONS_DIR at 2")
	})
	t.Run("no scratch server", func(t *testing.T) {
		_, cfg := clean(t)
		for _, r := range verify.RunDrills(t.Context(), cfg) {
			assert.False(t, r.OK)
			assert.Contains(t, r.Fix, "DEV_DATABASE_URL")
		}
	})
}

// copyMigrations copies ../../migrations into a new directory, with extra files.
func copyMigrations(t *testing.T, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob("../../migrations/*")
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644))
	}
	for name, sql := range extra {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o644))
	}
	return dir
}
