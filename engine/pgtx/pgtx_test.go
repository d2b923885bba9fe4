package pgtx_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/pgtx"
	"pgtenant/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

const setting = "app.current_tenant_id"

// counter counts the round trips a pool makes: every batch is one.
type counter struct{ queries, batches atomic.Int64 }

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.queries.Add(1)
	return ctx
}
func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *counter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.batches.Add(1)
	return ctx
}
func (c *counter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *counter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// setup returns a runner over one connection as a login holding app and
// reader, the counter of its round trips, and two tenant ids.
func setup(t *testing.T) (*pgtx.Runner, *pgxpool.Pool, *counter, string, string) {
	db := pgtest.New(t)
	cfg, err := pgxpool.ParseConfig(db.LoginURL(t, "app", "reader"))
	require.NoError(t, err)
	cfg.MaxConns = 1 // every call reuses the same connection
	c := &counter{}
	cfg.ConnConfig.Tracer = c
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	a, b := twoTenants(t, db)
	return pgtx.New(pool), pool, c, a, b
}

// twoTenants registers two tenants in db and returns their ids.
func twoTenants(t *testing.T, db *pgtest.DB) (string, string) {
	t.Helper()
	var a, b string
	for i, id := range []*string{&a, &b} {
		require.NoError(t, db.Owner.QueryRow(t.Context(),
			"INSERT INTO pgtenant.tenants (identifier, name, created_by) VALUES ($1, 'T', 'test') RETURNING id::text",
			[]string{"ta", "tb"}[i]).Scan(id))
	}
	return a, b
}

func TestQueryRow_BindsScopeForOneTransaction(t *testing.T) {
	r, pool, c, a, _ := setup(t)
	s := pgtx.Scope{Setting: setting, Tenant: a, Role: "reader", ReadOnly: true, Timeout: 1500 * time.Millisecond}
	var tenant, role, timeout, ro string
	before := c.batches.Load() + c.queries.Load()
	err := r.QueryRow(t.Context(), s, func(row pgx.Row) error { return row.Scan(&tenant, &role, &timeout, &ro) },
		`SELECT current_setting('app.current_tenant_id'), current_user, current_setting('statement_timeout'),
		        current_setting('transaction_read_only')`)
	require.NoError(t, err)
	assert.Equal(t, a, tenant)
	assert.Equal(t, "reader", role)
	assert.Equal(t, "1500ms", timeout)
	assert.Equal(t, "on", ro)
	assert.Equal(t, int64(1), c.batches.Load()+c.queries.Load()-before, "one round trip")

	// The same connection afterwards: nothing of the scope is left.
	require.NoError(t, pool.QueryRow(t.Context(),
		`SELECT coalesce(current_setting('app.current_tenant_id', true), ''), (current_user <> 'reader')::text,
		        current_setting('statement_timeout'), current_setting('transaction_read_only')`).
		Scan(&tenant, &role, &timeout, &ro))
	assert.Empty(t, tenant)
	assert.Equal(t, "true", role)
	assert.Equal(t, "0", timeout)
	assert.Equal(t, "off", ro)
}

func TestQueryRow_ReadOnly(t *testing.T) {
	r, _, _, a, _ := setup(t)
	err := r.QueryRow(t.Context(), pgtx.Scope{Setting: setting, Tenant: a, Role: "app", ReadOnly: true},
		func(row pgx.Row) error { var n int; return row.Scan(&n) },
		`WITH x AS (INSERT INTO webpages_pagetheme (name) VALUES ('t') RETURNING 1) SELECT count(*) FROM x`)
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	assert.Equal(t, "25006", pgErr.Code, "read_only_sql_transaction")
}

func TestQueryRow_ErrorRollsBackAll(t *testing.T) {
	r, pool, _, a, _ := setup(t)
	s := pgtx.Scope{Setting: setting, Tenant: a, Role: "app"}
	err := r.QueryRow(t.Context(), s, func(row pgx.Row) error { var n int; return row.Scan(&n) },
		`WITH x AS (INSERT INTO webpages_pagetheme (name) VALUES ('kept?') RETURNING 1) SELECT 1/0 FROM x`)
	require.Error(t, err)
	var n int
	require.NoError(t, r.QueryRow(t.Context(), s, func(row pgx.Row) error { return row.Scan(&n) },
		`SELECT count(*) FROM webpages_pagetheme`))
	assert.Zero(t, n)
	var status byte
	conn, err := pool.Acquire(t.Context())
	require.NoError(t, err)
	status = conn.Conn().PgConn().TxStatus()
	conn.Release()
	assert.Equal(t, byte('I'), status, "the connection is idle, not in a failed transaction")
}

func TestQueryRow_TenantIsolation(t *testing.T) {
	r, _, _, a, b := setup(t)
	insert := func(tenant, name string) {
		require.NoError(t, r.QueryRow(t.Context(), pgtx.Scope{Setting: setting, Tenant: tenant, Role: "app"},
			func(row pgx.Row) error { var n int; return row.Scan(&n) },
			`WITH x AS (INSERT INTO webpages_pagetheme (name) VALUES ($1) RETURNING 1) SELECT count(*) FROM x`, name))
	}
	insert(a, "a-theme")
	insert(b, "b-theme")
	for tenant, want := range map[string]string{a: "a-theme", b: "b-theme", "": ""} {
		var names string
		require.NoError(t, r.QueryRow(t.Context(), pgtx.Scope{Setting: setting, Tenant: tenant, Role: "app"},
			func(row pgx.Row) error { return row.Scan(&names) },
			`SELECT coalesce(string_agg(name, ','), '') FROM webpages_pagetheme`))
		assert.Equal(t, want, names)
	}
}

func TestTx_RollbackOrCommit(t *testing.T) {
	r, _, _, a, _ := setup(t)
	s := pgtx.Scope{Setting: setting, Tenant: a, Role: "app"}
	for _, commit := range []bool{false, true} {
		require.NoError(t, r.Tx(t.Context(), s, func(ctx context.Context, tx pgx.Tx) (bool, error) {
			var role string
			require.NoError(t, tx.QueryRow(ctx, "SELECT current_user").Scan(&role))
			assert.Equal(t, "app", role)
			_, err := tx.Exec(ctx, "INSERT INTO webpages_pagetheme (name) VALUES ('x')")
			return commit, err
		}))
	}
	var n int
	require.NoError(t, r.QueryRow(t.Context(), s, func(row pgx.Row) error { return row.Scan(&n) },
		`SELECT count(*) FROM webpages_pagetheme`))
	assert.Equal(t, 1, n, "only the committed insert is kept")

	sentinel := errors.New("boom")
	err := r.Tx(t.Context(), s, func(ctx context.Context, tx pgx.Tx) (bool, error) { return true, sentinel })
	assert.ErrorIs(t, err, sentinel)
}

func TestScope_Unknown(t *testing.T) {
	r, _, _, a, _ := setup(t)
	err := r.QueryRow(t.Context(), pgtx.Scope{Tenant: a}, func(pgx.Row) error { return nil }, "SELECT 1")
	assert.ErrorIs(t, err, pgtx.ErrNoScope)
	err = r.QueryRow(t.Context(), pgtx.Scope{Setting: setting, Tenant: a, Role: "no_such_role"},
		func(row pgx.Row) error { var n int; return row.Scan(&n) }, "SELECT 1")
	require.Error(t, err, "a role the login does not hold is refused by PostgreSQL")
}

func TestTx_Isolation(t *testing.T) {
	r, _, _, a, _ := setup(t)
	for level, want := range map[pgx.TxIsoLevel]string{"": "read committed", pgx.RepeatableRead: "repeatable read"} {
		s := pgtx.Scope{Setting: setting, Tenant: a, Role: "reader", ReadOnly: true, Isolation: level}
		require.NoError(t, r.Tx(t.Context(), s, func(ctx context.Context, tx pgx.Tx) (bool, error) {
			var got, ro string
			require.NoError(t, tx.QueryRow(ctx,
				"SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')").Scan(&got, &ro))
			assert.Equal(t, want, got)
			assert.Equal(t, "on", ro)
			return false, nil
		}))
	}
}

// TestBind binds a transaction the caller holds on a *pgx.Conn: the settings are the ones QueryRow makes, sent in
// one round trip, a rebind in a savepoint switches tenant until the savepoint is rolled back, and nothing outlives
// the transaction.
func TestBind(t *testing.T) {
	db := pgtest.New(t)
	a, b := twoTenants(t, db)
	cfg, err := pgx.ParseConfig(db.LoginURL(t, "app", "reader"))
	require.NoError(t, err)
	c := &counter{}
	cfg.Tracer = c
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	read := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) (tenant, role, timeout string) {
		require.NoError(t, q.QueryRow(t.Context(), `SELECT coalesce(current_setting('app.current_tenant_id', true), ''),
			current_user, current_setting('statement_timeout')`).Scan(&tenant, &role, &timeout))
		return tenant, role, timeout
	}
	_, login, serverTimeout := read(conn)

	tx, err := conn.Begin(t.Context())
	require.NoError(t, err)
	before := c.batches.Load() + c.queries.Load()
	require.NoError(t, pgtx.Bind(t.Context(), tx, pgtx.Scope{Setting: setting, Tenant: a, Role: "app", Timeout: 2 * time.Second}))
	assert.Equal(t, int64(1), c.batches.Load()+c.queries.Load()-before, "one round trip")
	tenant, role, timeout := read(tx)
	assert.Equal(t, []string{a, "app", "2s"}, []string{tenant, role, timeout})

	sp, err := tx.Begin(t.Context())
	require.NoError(t, err)
	require.NoError(t, pgtx.Bind(t.Context(), sp, pgtx.Scope{Setting: setting, Tenant: b, Role: "reader"}))
	tenant, role, timeout = read(sp)
	assert.Equal(t, []string{b, "reader", serverTimeout}, []string{tenant, role, timeout})
	require.NoError(t, sp.Rollback(t.Context()))
	tenant, role, _ = read(tx)
	assert.Equal(t, []string{a, "app"}, []string{tenant, role}, "the savepoint's binding is rolled back with it")

	assert.ErrorIs(t, pgtx.Bind(t.Context(), tx, pgtx.Scope{Tenant: a}), pgtx.ErrNoScope)
	require.NoError(t, tx.Rollback(t.Context()))
	tenant, role, timeout = read(conn)
	assert.Equal(t, []string{"", login, serverTimeout}, []string{tenant, role, timeout}, "nothing outlives the transaction")
}
