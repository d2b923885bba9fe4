package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

func TestNew_Isolated(t *testing.T) {
	a, b := pgtest.New(t), pgtest.New(t)
	require.NotEqual(t, a.Name, b.Name)

	_, err := a.Owner.Exec(t.Context(), "CREATE TABLE only_in_a (id int)")
	require.NoError(t, err)

	var n int
	require.NoError(t, b.Owner.QueryRow(t.Context(),
		"SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n))
	assert.Zero(t, n, "a table made in one test database is not in another")
}

func TestNew_Owner(t *testing.T) {
	db := pgtest.New(t)
	var current, dbOwner string
	var super, bypass, createRole bool
	require.NoError(t, db.Owner.QueryRow(t.Context(), `
		SELECT current_user, pg_get_userbyid(d.datdba), r.rolsuper, r.rolbypassrls, r.rolcreaterole
		FROM pg_database d, pg_roles r
		WHERE d.datname = current_database() AND r.rolname = current_user`).
		Scan(&current, &dbOwner, &super, &bypass, &createRole))
	assert.Equal(t, current, dbOwner, "the owner role owns the database")
	assert.False(t, super)
	assert.False(t, bypass)
	assert.True(t, createRole, "the migrations create roles")

	// The migrations were applied by the owner: golang-migrate's table exists and is the owner's.
	var tableOwner string
	require.NoError(t, db.Owner.QueryRow(t.Context(),
		"SELECT tableowner FROM pg_tables WHERE tablename = 'schema_migrations'").Scan(&tableOwner))
	assert.Equal(t, current, tableOwner)
}

func TestNewEmpty(t *testing.T) {
	db := pgtest.NewEmpty(t)
	var n int
	require.NoError(t, db.Owner.QueryRow(t.Context(),
		"SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'").
		Scan(&n))
	assert.Zero(t, n, "an empty database has nothing in public")
}

func TestDB_AdminURL(t *testing.T) {
	db := pgtest.NewEmpty(t)
	conn, err := pgx.Connect(t.Context(), db.AdminURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var name string
	var super bool
	require.NoError(t, conn.QueryRow(t.Context(),
		"SELECT current_database(), rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&name, &super))
	assert.Equal(t, db.Name, name)
	assert.True(t, super)
}

func TestDB_Login(t *testing.T) {
	db := pgtest.NewEmpty(t)
	setup, err := pgx.Connect(t.Context(), db.AdminURL)
	require.NoError(t, err)
	defer setup.Close(context.Background())
	_, err = setup.Exec(t.Context(), `
		DO $$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pgtest_reader') THEN
				CREATE ROLE pgtest_reader NOLOGIN;
			END IF;
		END $$`)
	require.NoError(t, err)

	pool := db.Login(t, "pgtest_reader")
	var name string
	var super, bypass, member bool
	var owned int
	require.NoError(t, pool.QueryRow(t.Context(), `
		SELECT rolname, rolsuper, rolbypassrls, pg_has_role(current_user, 'pgtest_reader', 'MEMBER'),
			(SELECT count(*) FROM pg_class WHERE relowner = r.oid)
		FROM pg_roles r WHERE rolname = current_user`).Scan(&name, &super, &bypass, &member, &owned))
	assert.NotEqual(t, "pgtest_owner", name)
	assert.False(t, super, "login roles are not superuser")
	assert.False(t, bypass, "login roles do not bypass row-level security")
	assert.True(t, member, "login roles are granted the roles asked for")
	assert.Zero(t, owned, "login roles own nothing")

	other, err := pgxpool.New(t.Context(), db.LoginURL(t))
	require.NoError(t, err)
	defer other.Close()
	var otherName string
	require.NoError(t, other.QueryRow(t.Context(), "SELECT current_user").Scan(&otherName))
	assert.NotEqual(t, name, otherName, "each login is a new role")
}

// TestNewPrivate_StopStart: a private server has the migrated database, is
// not the package's, refuses connections once stopped (either way) and
// serves the same database, with its rows, once started again.
func TestNewPrivate_StopStart(t *testing.T) {
	shared, pg := pgtest.New(t), pgtest.NewPrivate(t)
	ctx := t.Context()
	var sharedPort, port int
	require.NoError(t, shared.Owner.QueryRow(ctx, "SELECT current_setting('port')::int").Scan(&sharedPort))
	require.NoError(t, pg.Owner.QueryRow(ctx, "SELECT current_setting('port')::int").Scan(&port))
	assert.NotEqual(t, sharedPort, port, "a server of its own")
	var migrated bool
	require.NoError(t, pg.Owner.QueryRow(ctx, "SELECT to_regclass('pgtenant.tenants') IS NOT NULL").Scan(&migrated))
	require.True(t, migrated, "the migrations are applied")
	// The private server is not durable (synchronous_commit off): commit this one synchronously, so that its
	// WAL is written before an immediate stop, which kills the server without flushing.
	_, err := pg.Owner.Exec(ctx, "BEGIN; SET LOCAL synchronous_commit = on; CREATE TABLE kept (id int); INSERT INTO kept VALUES (1); COMMIT")
	require.NoError(t, err)

	for _, c := range []struct {
		name string
		stop func(context.Context) error
	}{{"immediate", pg.StopImmediate}, {"fast", pg.Stop}} {
		name, stop := c.name, c.stop
		require.NoError(t, stop(ctx), name)
		conn, err := pgx.Connect(ctx, pg.OwnerURL)
		if err == nil {
			_ = conn.Close(ctx)
		}
		require.Error(t, err, "%s: connected to a stopped server", name)
		require.NoError(t, pg.Start(ctx), name)
		conn, err = pgx.Connect(ctx, pg.OwnerURL)
		require.NoError(t, err, name)
		var n int
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM kept").Scan(&n), name)
		assert.Equal(t, 1, n, "%s: the rows survive the restart", name)
		require.NoError(t, conn.Close(ctx))
	}
}
