package rls_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/rls"
	"pgtenant/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

// owner connects as the tables' owner and collects the notices the server sends.
func owner(t *testing.T, db *pgtest.DB) (*pgx.Conn, func() []string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(db.OwnerURL)
	require.NoError(t, err)
	var mu sync.Mutex
	var notices []string
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		mu.Lock()
		defer mu.Unlock()
		notices = append(notices, n.Severity+": "+n.Message)
	}
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), notices...)
	}
}

func state(t *testing.T, conn *pgx.Conn, name string) rls.Table {
	t.Helper()
	tables, err := rls.Status(t.Context(), conn)
	require.NoError(t, err)
	for _, tb := range tables {
		if tb.Name == name {
			return tb
		}
	}
	t.Fatalf("no table %s", name)
	return rls.Table{}
}

func TestStatus(t *testing.T) {
	db := pgtest.New(t)
	conn, _ := owner(t, db)
	tables, err := rls.Status(t.Context(), conn)
	require.NoError(t, err)
	var names []string
	for _, tb := range tables {
		names = append(names, tb.Name)
	}
	assert.Contains(t, names, "schema_migrations")
	assert.IsIncreasing(t, names)
	assert.Equal(t, rls.Table{Name: "webpages_webpage", Enabled: true, Forced: true, Policies: 4, Owner: "pgtest_owner"},
		state(t, conn, "webpages_webpage"), "tenant_isolation, app_access, reader_access, webpage_published_only")
	assert.Equal(t, rls.Table{Name: "schema_migrations", Owner: "pgtest_owner"}, state(t, conn, "schema_migrations"))
}

func TestDisableEnable(t *testing.T) {
	db := pgtest.New(t)
	conn, notices := owner(t, db)
	ctx := t.Context()

	require.NoError(t, rls.Disable(ctx, conn, "webpages_webpage", "alice@ops"))
	got := state(t, conn, "webpages_webpage")
	assert.False(t, got.Enabled)
	assert.False(t, got.Forced)
	assert.Contains(t, notices(), "WARNING: pgtenant: row-level security disabled on public.webpages_webpage by alice@ops (pgtenant rls)",
		"the switch is written to the server log")

	// With RLS off the app's login sees every tenant's rows; with it back on, none without a tenant.
	_, err := db.Owner.Exec(ctx, `INSERT INTO pgtenant.tenants (identifier, name, created_by) VALUES ('acme', 'Acme', 't')`)
	require.NoError(t, err)
	app := db.Login(t, "app")
	_, err = app.Exec(ctx, `BEGIN;
		SELECT set_config('app.current_tenant_id', (SELECT id::text FROM pgtenant.tenant_directory() WHERE identifier = 'acme'), true);
		INSERT INTO content_namespace (slug, name) VALUES ('www', 'Site');
		COMMIT;`)
	require.NoError(t, err)
	require.NoError(t, rls.Disable(ctx, conn, "content_namespace", "alice@ops"))
	var n int
	require.NoError(t, app.QueryRow(ctx, "SELECT count(*) FROM content_namespace").Scan(&n))
	assert.Equal(t, 1, n, "with row-level security off, a query without a tenant sees the row")

	require.NoError(t, rls.Enable(ctx, conn, []string{"webpages_webpage", "content_namespace"}, "bob@ops"))
	for _, name := range []string{"webpages_webpage", "content_namespace"} {
		got := state(t, conn, name)
		assert.True(t, got.Enabled && got.Forced, name)
	}
	require.NoError(t, app.QueryRow(ctx, "SELECT count(*) FROM content_namespace").Scan(&n))
	assert.Zero(t, n)
	assert.Contains(t, notices(), "WARNING: pgtenant: row-level security enabled on public.content_namespace by bob@ops (pgtenant rls)")
}

func TestUnknownTable(t *testing.T) {
	db := pgtest.New(t)
	conn, _ := owner(t, db)
	err := rls.Disable(t.Context(), conn, "nope", "x")
	assert.ErrorIs(t, err, rls.ErrUnknownTable)
	// Enable is all or nothing: an unknown table in the list leaves the others as they were.
	require.NoError(t, rls.Disable(t.Context(), conn, "content_tag", "x"))
	err = rls.Enable(t.Context(), conn, []string{"content_tag", "nope"}, "x")
	assert.ErrorIs(t, err, rls.ErrUnknownTable)
	assert.False(t, state(t, conn, "content_tag").Enabled, "nothing was enabled")
}
