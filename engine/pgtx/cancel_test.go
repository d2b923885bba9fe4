package pgtx_test

import (
	"context"
	"errors"
	"net"
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

// TestCloseOnContext_NeverCancelsTheNextStatement: a request that goes
// away must end its own statement only. Tenant A's statement outlives its
// context just long enough to finish on its own while the cancel request
// sent for it is still on its way (pgtest.LateCancels); tenant B's statement
// then runs on the pool's one connection. Sending PostgreSQL a cancel request
// and keeping the connection (pgx's CancelRequestContextWatcherHandler, which
// pgx documents as racy, and what pgtx did before) let the late cancel end B's
// statement with 57014. Closing the connection cannot: B gets another backend.
func TestCloseOnContext_NeverCancelsTheNextStatement(t *testing.T) {
	r, _, a, b := serverSetup(t, 600*time.Millisecond)
	scan := func(row pgx.Row) error { var s string; return row.Scan(&s) }
	for i := range 3 {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		errA := r.QueryRow(ctx, pgtx.Scope{Setting: setting, Tenant: a, Role: "app"}, scan, "SELECT pg_sleep(0.2)::text")
		cancel()
		if errA != nil {
			assert.ErrorIs(t, errA, context.DeadlineExceeded, "iteration %d: A ends by its own deadline", i)
		}
		start := time.Now()
		errB := r.QueryRow(t.Context(), pgtx.Scope{Setting: setting, Tenant: b, Role: "app"}, scan, "SELECT pg_sleep(1)::text")
		require.NoError(t, errB, "iteration %d: B's statement was cancelled by A's going away", i)
		assert.Less(t, time.Since(start), 5*time.Second)
	}
}

// TestStatementTimeout_IsNotACancellation: PostgreSQL's own statement
// timeout stays a 57014 *pgconn.PgError, never marked as the context's end,
// while a context that ends under a statement is the context's error, and
// PostgreSQL stops that statement (the connection is closed, and pgx sends
// its cancel request from its close path).
func TestStatementTimeout_IsNotACancellation(t *testing.T) {
	r, db, a, _ := serverSetup(t, 0)
	scan := func(row pgx.Row) error { var s string; return row.Scan(&s) }

	err := r.QueryRow(t.Context(), pgtx.Scope{Setting: setting, Tenant: a, Role: "app", Timeout: 100 * time.Millisecond},
		scan, "SELECT pg_sleep(5)::text")
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	assert.Equal(t, "57014", pgErr.Code)
	assert.False(t, errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded), "%v", err)

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err = r.QueryRow(ctx, pgtx.Scope{Setting: setting, Tenant: a, Role: "app"}, scan,
		"SELECT pg_sleep(5)::text /* abandoned */")
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 2*time.Second, "the caller is not kept waiting")
	admin, err := pgxpool.New(t.Context(), db.AdminURL)
	require.NoError(t, err)
	defer admin.Close()
	assert.Eventually(t, func() bool {
		var n int
		require.NoError(t, admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE state = 'active' AND query LIKE '%/* abandoned */%' AND pid <> pg_backend_pid()`).Scan(&n))
		return n == 0
	}, 3*time.Second, 25*time.Millisecond, "PostgreSQL stopped the abandoned statement")

	// The pool serves the next statement on a sound connection.
	var one string
	require.NoError(t, r.QueryRow(t.Context(), pgtx.Scope{Setting: setting, Tenant: a, Role: "app"},
		func(row pgx.Row) error { return row.Scan(&one) }, "SELECT '1'"))
	assert.Equal(t, "1", one)
}

// serverSetup returns a runner configured as the server's (CloseOnContext)
// over a pool of one connection as a login holding app and reader, whose
// cancel requests reach PostgreSQL after cancelDelay, and two tenant ids.
func serverSetup(t *testing.T, cancelDelay time.Duration) (*pgtx.Runner, *pgtest.DB, string, string) {
	t.Helper()
	db := pgtest.New(t)
	cfg, err := pgxpool.ParseConfig(db.LoginURL(t, "app", "reader"))
	require.NoError(t, err)
	cfg.MaxConns = 1 // a connection that is kept serves the next statement
	pgtx.CloseOnContext(&cfg.ConnConfig.Config)
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return pgtest.LateCancels(c, cancelDelay), nil
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	a, b := twoTenants(t, db)
	return pgtx.New(pool), db, a, b
}
