package httpapi_test

import (
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/internal/pgbouncer"
)

// TestConcurrentIsolation_PgBouncer runs TestConcurrentIsolation through
// PgBouncer in transaction pooling mode (DB_EXEC_MODE exec and
// simple_protocol, the modes that name no prepared statement), with more
// pgx connections (4) than PgBouncer has server connections (2), so that
// consecutive transactions of one client run on different server
// connections. Afterwards, a client that binds no tenant must find no
// setting left behind on any server connection.
//
// It runs a tenth of TestConcurrentIsolation's size (12,800 requests per
// mode), a hundredth under -race or -short: the pooler adds a hop to every
// request, and make test's time goes to the direct run.
func TestConcurrentIsolation_PgBouncer(t *testing.T) {
	perWorker := concurrentRequests / 10
	if testing.Short() || raceEnabled {
		perWorker /= 10
	}
	for _, tt := range []struct {
		name string
		mode pgx.QueryExecMode
	}{
		{"exec", pgx.QueryExecModeExec},
		{"simple_protocol", pgx.QueryExecModeSimpleProtocol},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			pgb := pgbouncer.New(t, e.url)
			s := e.start(t, serverOpts{maxConns: 4, poolURL: pgb.URL(e.url), execMode: tt.mode})
			runConcurrentIsolation(t, s, 4, perWorker)
			if t.Failed() {
				t.Logf("pgbouncer log:\n%s", pgb.Log())
			}
			requireNoSessionState(t, pgb.URL(e.url))
		})
	}
}

// requireNoSessionState opens as many transactions through PgBouncer at
// once as it has server connections (2), so that each runs on a different
// one, and checks that none carries a tenant, role, timeout or read-only
// setting of an earlier request, and that the tables show no rows.
func requireNoSessionState(t *testing.T, bouncerURL string) {
	t.Helper()
	ctx := t.Context()
	u, err := url.Parse(bouncerURL)
	require.NoError(t, err)
	login := u.User.Username()
	var txs []pgx.Tx
	pids := map[int]bool{}
	for range 2 {
		cfg, err := pgx.ParseConfig(bouncerURL)
		require.NoError(t, err)
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		conn, err := pgx.ConnectConfig(ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close(ctx) })
		tx, err := conn.Begin(ctx)
		require.NoError(t, err)
		txs = append(txs, tx)
	}
	for _, tx := range txs {
		var (
			pid                             int
			tenantID, role, timeout, rdonly string
			pages                           int
		)
		require.NoError(t, tx.QueryRow(ctx, `SELECT pg_backend_pid(),
			coalesce(current_setting('app.current_tenant_id', true), ''), current_user,
			current_setting('statement_timeout'), current_setting('transaction_read_only'),
			(SELECT count(*) FROM public.webpages_webpage)`).Scan(&pid, &tenantID, &role, &timeout, &rdonly, &pages))
		pids[pid] = true
		assert.Empty(t, tenantID, "server connection %d: a tenant left over", pid)
		assert.Equal(t, login, role, "server connection %d: a role left over", pid)
		assert.Equal(t, "0", timeout, "server connection %d: a statement_timeout left over", pid)
		assert.Equal(t, "off", rdonly, "server connection %d: read-only left over", pid)
		assert.Zero(t, pages, "server connection %d: rows visible without a tenant", pid)
	}
	assert.Len(t, pids, 2, "the transactions ran on PgBouncer's two server connections")
	for _, tx := range txs {
		require.NoError(t, tx.Rollback(ctx))
	}
}
