package migrate_test

import (
	"os"
	"path/filepath"
	"testing"

	gomigrate "github.com/golang-migrate/migrate/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/migrate"
	"pgtenant/internal/pgtest"
)

// TestMain is this package's only one: pgtest.Run stops the test server after the tests.
func TestMain(m *testing.M) { pgtest.Run(m) }

// writeDir writes migration files (name → SQL) into a fresh directory.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, sql := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o644))
	}
	return dir
}

// tableExists reports whether public.name exists.
func tableExists(t *testing.T, db *pgtest.DB, name string) bool {
	t.Helper()
	var exists bool
	require.NoError(t, db.Owner.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", "public."+name).
		Scan(&exists))
	return exists
}

var twoMigrations = map[string]string{
	"000001_first.up.sql":    "CREATE TABLE first (id int);\nINSERT INTO first VALUES (1);\n",
	"000001_first.down.sql":  "DROP TABLE first;\n",
	"000002_second.up.sql":   "CREATE TABLE second (id int);\n",
	"000002_second.down.sql": "DROP TABLE second;\n",
	"schema.json":            "{}\n", // not a migration: ignored
}

func TestUpDownStatus(t *testing.T) {
	db := pgtest.NewEmpty(t)
	dir := writeDir(t, twoMigrations)
	ctx := t.Context()

	st, err := migrate.ReadStatus(ctx, db.OwnerURL, dir)
	require.NoError(t, err)
	assert.Equal(t, migrate.Status{Version: 0, Available: []uint{1, 2}, Pending: []uint{1, 2}}, st)

	from, to, err := migrate.Up(ctx, db.OwnerURL, dir)
	require.NoError(t, err)
	assert.Equal(t, [2]uint{0, 2}, [2]uint{from, to})
	assert.True(t, tableExists(t, db, "first"))
	assert.True(t, tableExists(t, db, "second"))

	from, to, err = migrate.Up(ctx, db.OwnerURL, dir)
	require.NoError(t, err, "nothing to apply is not an error")
	assert.Equal(t, [2]uint{2, 2}, [2]uint{from, to})

	st, err = migrate.ReadStatus(ctx, db.OwnerURL, dir)
	require.NoError(t, err)
	assert.Equal(t, migrate.Status{Version: 2, Available: []uint{1, 2}}, st)

	from, to, err = migrate.Down(ctx, db.OwnerURL, dir, 1)
	require.NoError(t, err)
	assert.Equal(t, [2]uint{2, 1}, [2]uint{from, to})
	assert.True(t, tableExists(t, db, "first"))
	assert.False(t, tableExists(t, db, "second"))

	_, _, err = migrate.Down(ctx, db.OwnerURL, dir, 2)
	require.Error(t, err, "only one migration is applied")
	_, _, err = migrate.Down(ctx, db.OwnerURL, dir, 0)
	require.Error(t, err)
	assert.True(t, tableExists(t, db, "first"), "a refused down changes nothing")

	st, err = migrate.ReadStatus(ctx, db.OwnerURL, dir)
	require.NoError(t, err)
	assert.Equal(t, migrate.Status{Version: 1, Available: []uint{1, 2}, Pending: []uint{2}}, st)

	from, to, err = migrate.Down(ctx, db.OwnerURL, dir, 1)
	require.NoError(t, err)
	assert.Equal(t, [2]uint{1, 0}, [2]uint{from, to})
	assert.False(t, tableExists(t, db, "first"))

	from, to, err = migrate.Up(ctx, db.OwnerURL, dir)
	require.NoError(t, err)
	assert.Equal(t, [2]uint{0, 2}, [2]uint{from, to})
	from, to, err = migrate.Down(ctx, db.OwnerURL, dir, 2)
	require.NoError(t, err)
	assert.Equal(t, [2]uint{2, 0}, [2]uint{from, to})
}

// TestUp_FileIsAtomic pins down what happens when a statement in the middle of a file fails: the pgx5 driver sends
// the file as one simple-protocol query, which PostgreSQL runs as one implicit transaction, so the statements
// before the failing one are rolled back too; golang-migrate has already recorded the version as dirty, though.
func TestUp_FileIsAtomic(t *testing.T) {
	db := pgtest.NewEmpty(t)
	ctx := t.Context()
	dir := writeDir(t, map[string]string{
		"000001_first.up.sql":    "CREATE TABLE first (id int);\n",
		"000001_first.down.sql":  "DROP TABLE first;\n",
		"000002_broken.up.sql":   "CREATE TABLE second (id int);\nINSERT INTO second VALUES (1 / 0);\nCREATE TABLE third (id int);\n",
		"000002_broken.down.sql": "DROP TABLE third;\nDROP TABLE second;\n",
	})

	from, to, err := migrate.Up(ctx, db.OwnerURL, dir)
	require.Error(t, err)
	assert.Equal(t, uint(0), from)
	assert.Equal(t, uint(2), to, "golang-migrate records the failed version")
	assert.True(t, tableExists(t, db, "first"), "the files before the failing one are applied")
	assert.False(t, tableExists(t, db, "second"), "the statement before the failing one is rolled back")
	assert.False(t, tableExists(t, db, "third"))

	st, err := migrate.ReadStatus(ctx, db.OwnerURL, dir)
	require.NoError(t, err)
	assert.Equal(t, migrate.Status{Version: 2, Dirty: true, Available: []uint{1, 2}}, st)

	_, _, err = migrate.Up(ctx, db.OwnerURL, dir)
	var dirty gomigrate.ErrDirty
	require.ErrorAs(t, err, &dirty, "a dirty database refuses to migrate")
	assert.Equal(t, 2, dirty.Version)
	_, _, err = migrate.Down(ctx, db.OwnerURL, dir, 1)
	require.ErrorAs(t, err, &dirty)

	// Recovery: the database is really at version 1, so force that, fix the file and go on.
	require.NoError(t, migrate.Force(ctx, db.OwnerURL, dir, 1))
	st, err = migrate.ReadStatus(ctx, db.OwnerURL, dir)
	require.NoError(t, err)
	assert.Equal(t, migrate.Status{Version: 1, Available: []uint{1, 2}, Pending: []uint{2}}, st)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "000002_broken.up.sql"),
		[]byte("CREATE TABLE second (id int);\nCREATE TABLE third (id int);\n"), 0o644))
	from, to, err = migrate.Up(ctx, db.OwnerURL, dir)
	require.NoError(t, err)
	assert.Equal(t, [2]uint{1, 2}, [2]uint{from, to})
	assert.True(t, tableExists(t, db, "third"))

	require.Error(t, migrate.Force(ctx, db.OwnerURL, dir, 7), "there is no migration 7")
}

func TestUp_EmptyDir(t *testing.T) {
	db := pgtest.NewEmpty(t)
	dir := t.TempDir()
	from, to, err := migrate.Up(t.Context(), db.OwnerURL, dir)
	require.NoError(t, err)
	assert.Equal(t, [2]uint{0, 0}, [2]uint{from, to})

	st, err := migrate.ReadStatus(t.Context(), db.OwnerURL, dir)
	require.NoError(t, err)
	assert.Equal(t, migrate.Status{}, st)
}

func TestUp_Errors(t *testing.T) {
	db := pgtest.NewEmpty(t)
	dir := writeDir(t, twoMigrations)

	_, _, err := migrate.Up(t.Context(), db.OwnerURL, filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, os.ErrNotExist)

	_, _, err = migrate.Up(t.Context(), "postgres://nobody:wrong@127.0.0.1:1/none?sslmode=disable&connect_timeout=5",
		dir)
	assert.Error(t, err)

	// A database at a version the directory does not have.
	_, _, err = migrate.Up(t.Context(), db.OwnerURL, dir)
	require.NoError(t, err)
	_, _, err = migrate.Up(t.Context(), db.OwnerURL, writeDir(t, map[string]string{
		"000001_first.up.sql": "SELECT 1;\n",
	}))
	assert.Error(t, err)
}

// TestUpSteps applies migrations one at a time, and refuses more steps than are pending.
func TestUpSteps(t *testing.T) {
	db := pgtest.NewEmpty(t)
	dir := writeDir(t, twoMigrations)
	ctx := t.Context()

	from, to, err := migrate.UpSteps(ctx, db.OwnerURL, dir, 1)
	require.NoError(t, err)
	assert.Equal(t, [2]uint{0, 1}, [2]uint{from, to})
	assert.True(t, tableExists(t, db, "first"))
	assert.False(t, tableExists(t, db, "second"))

	_, _, err = migrate.UpSteps(ctx, db.OwnerURL, dir, 2)
	require.Error(t, err, "only one migration is pending")
	_, _, err = migrate.UpSteps(ctx, db.OwnerURL, dir, 0)
	require.Error(t, err)
	assert.False(t, tableExists(t, db, "second"), "a refused up changes nothing")

	from, to, err = migrate.UpSteps(ctx, db.OwnerURL, dir, 1)
	require.NoError(t, err)
	assert.Equal(t, [2]uint{1, 2}, [2]uint{from, to})
	assert.True(t, tableExists(t, db, "second"))
}
