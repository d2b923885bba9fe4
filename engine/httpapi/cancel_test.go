package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientDisconnectCancelsQuery: when the client goes away, the server
// cancels its statement in PostgreSQL instead of letting it run on (it would
// if the request's context did not reach the query). A check constraint
// that sleeps makes an insert slow without waiting on any lock.
func TestClientDisconnectCancelsQuery(t *testing.T) {
	s := newServer(t)
	_, err := s.db.Owner.Exec(t.Context(), `
		CREATE FUNCTION public.slow_check() RETURNS boolean LANGUAGE sql AS $$ SELECT pg_sleep(5) IS NOT NULL $$;
		ALTER TABLE public.webpages_pagetheme ADD CONSTRAINT slow CHECK (public.slow_check()) NOT VALID`)
	require.NoError(t, err)

	running := func() int {
		var n int
		require.NoError(t, s.admin.QueryRow(context.Background(), `
			SELECT count(*) FROM pg_stat_activity
			 WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
			   AND query LIKE '%INSERT INTO public.webpages_pagetheme%'`).Scan(&n))
		return n
	}
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	var seen atomic.Bool
	go func() { // the statement is running while the client waits
		for ctx.Err() == nil && !seen.Load() {
			seen.Store(running() > 0)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	start := time.Now()
	_, err = s.acmeApp().try(ctx, http.MethodPost, "/webpages_pagetheme", `{"name":"slow"}`)
	require.Error(t, err, "the client gave up after 500ms")
	require.True(t, seen.Load(), "the statement was seen running before the client gave up")

	assert.Eventually(t, func() bool { return running() == 0 }, 2*time.Second, 25*time.Millisecond,
		"PostgreSQL is still running the abandoned statement")
	assert.Less(t, time.Since(start), 3*time.Second, "cancelled, not left to finish its 5s")
	assert.Zero(t, s.count(t, "webpages_pagetheme", "name = 'slow'"), "nothing written")
	// The request counts as the client's going away (499), not as a statement timeout (504) or a server error.
	assert.Eventually(t, func() bool { return requestsWithStatus(t, s.reg, "499") == 1 }, 2*time.Second, 25*time.Millisecond)
	assert.Zero(t, requestsWithStatus(t, s.reg, "504"))
}

// requestsWithStatus sums pgtenant_http_requests_total over the series with that status.
func requestsWithStatus(t *testing.T, reg prometheus.Gatherer, status string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	var n float64
	for _, f := range families {
		if f.GetName() != "pgtenant_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "status" && l.GetValue() == status {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// slowThemes makes inserts into webpages_pagetheme slow without waiting on a
// lock: a CHECK constraint sleeps secs(name) seconds, an SQL expression over
// the column name.
func slowThemes(t *testing.T, s *server, secs string) {
	t.Helper()
	_, err := s.db.Owner.Exec(t.Context(), `
		CREATE FUNCTION public.slow_check(name text) RETURNS boolean LANGUAGE sql AS
		$$ SELECT pg_sleep(`+secs+`) IS NOT NULL $$;
		ALTER TABLE public.webpages_pagetheme ADD CONSTRAINT slow CHECK (public.slow_check(name)) NOT VALID`)
	require.NoError(t, err)
}

// TestStatementTimeout_Is504: PostgreSQL's own statement_timeout is 504
// 57014, told apart from a client that goes away (499,
// TestClientDisconnectCancelsQuery).
func TestStatementTimeout_Is504(t *testing.T) {
	s := newEnv(t).start(t, serverOpts{statementTimeout: 200 * time.Millisecond})
	slowThemes(t, s, "5")
	r := s.acmeApp().do(t, http.MethodPost, "/webpages_pagetheme", `{"name":"slow"}`)
	r.requireStatus(t, http.StatusGatewayTimeout)
	assert.Equal(t, "57014", r.error(t).Code)
	assert.Zero(t, s.count(t, "webpages_pagetheme", "name = 'slow'"), "nothing written")
	assert.Zero(t, requestsWithStatus(t, s.reg, "499"))
}

// TestClientDisconnect_NeverFailsAnotherTenant: a client that goes away
// ends its own statement only. Acme's client gives up under a statement
// that then finishes on its own while the cancel request sent for it is
// still on its way to PostgreSQL (pgtest.LateCancels: a postmaster slow to
// fork under load); globex's request runs next on the pool's one
// connection. Before pgtx.CloseOnContext the connection was kept and the late
// cancel ended globex's statement: 504 57014 for a request that did nothing
// wrong.
func TestClientDisconnect_NeverFailsAnotherTenant(t *testing.T) {
	s := newEnv(t).start(t, serverOpts{maxConns: 1, cancelDelay: 600 * time.Millisecond})
	slowThemes(t, s, "CASE WHEN name LIKE 'gone-%' THEN 0.2 ELSE 1 END")
	for i := range 3 {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		_, err := s.acmeApp().try(ctx, http.MethodPost, "/webpages_pagetheme", fmt.Sprintf(`{"name":"gone-%d"}`, i))
		cancel()
		require.Error(t, err, "acme's client gave up")
		r := s.globexApp().do(t, http.MethodPost, "/webpages_pagetheme", fmt.Sprintf(`{"name":"kept-%d"}`, i))
		r.requireStatus(t, http.StatusCreated)
	}
	assert.Equal(t, 3, s.count(t, "webpages_pagetheme", "name LIKE 'kept-%'"))
	assert.Zero(t, requestsWithStatus(t, s.reg, "504"))
}

// TestRequestTimeout_ExhaustedPool: a request that waits for a connection of
// an exhausted pool gets 504 PGT504 once its deadline (RequestTimeout)
// passes, instead of waiting as long as the connection is held, and so does
// one whose credential must first be read from the registry; no connection
// is lost, and the next requests, of the other tenant and of its own, are
// served as usual once one is free.
func TestRequestTimeout_ExhaustedPool(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s := newEnv(t).start(t, serverOpts{maxConns: 1, requestTimeout: timeout})
	// Both tenants' credentials are resolved once, so that the registry's
	// cache answers for them below: only the statement needs the pool.
	s.acmeApp().get(t, "/webpages_webpage?select=slug").requireStatus(t, http.StatusOK)
	s.globexApp().get(t, "/webpages_webpage?select=slug").requireStatus(t, http.StatusOK)

	held, err := s.pool.Acquire(t.Context())
	require.NoError(t, err)
	start := time.Now()
	r := s.acmeApp().get(t, "/webpages_webpage?select=slug")
	waited := time.Since(start)
	r.requireStatus(t, http.StatusGatewayTimeout)
	assert.Equal(t, "PGT504", r.error(t).Code)
	assert.GreaterOrEqual(t, waited, timeout)
	assert.Less(t, waited, 5*timeout, "the deadline ends the wait for a connection")
	// A credential not yet in the registry's cache waits for a connection to
	// resolve it: the same deadline ends that wait.
	r = s.reader().get(t, "/webpages_webpage?select=slug")
	r.requireStatus(t, http.StatusGatewayTimeout)
	assert.Equal(t, "PGT504", r.error(t).Code)
	held.Release()

	s.globexApp().get(t, "/webpages_webpage?select=slug").requireStatus(t, http.StatusOK)
	s.acmeApp().get(t, "/webpages_webpage?select=slug").requireStatus(t, http.StatusOK)
	s.reader().get(t, "/webpages_webpage?select=slug").requireStatus(t, http.StatusOK)
	assert.Zero(t, s.pool.Stat().AcquiredConns(), "no connection is lost")
	assert.Equal(t, float64(2), requestsWithStatus(t, s.reg, "504"))
}
