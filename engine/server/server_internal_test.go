package server

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/httpapi"
	"pgtenant/engine/registry"
	"pgtenant/engine/tenant"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

// TestServer_TTLFallback runs a server whose notifications are cut off (its LISTEN loop is stopped), with a 2s
// registry cache TTL: it refuses a deactivated tenant and a revoked token once what it cached is 2s old, not
// before, and not much later.
func TestServer_TTLFallback(t *testing.T) {
	t.Parallel()
	const ttl, budget = 2 * time.Second, time.Second
	db := pgtest.New(t)
	declared, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors())
	for _, id := range []string{"acme", "globex"} {
		_, err := registry.CreateTenant(t.Context(), db.Owner, id, id, "test")
		require.NoError(t, err)
	}
	token, cred, err := registry.CreateToken(t.Context(), db.Owner, "ci", "app", []string{"acme", "globex"})
	require.NoError(t, err)
	srv, err := Start(t.Context(), Config{DatabaseURL: db.LoginURL(t, "app", "reader"), Addr: "127.0.0.1:0",
		Tenant: tenant.Config{Require: true, TTL: ttl}, API: httpapi.Config{BasePath: "/api/v1"}}, declared)
	require.NoError(t, err)
	defer srv.Close()
	get := func(ref string) int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet,
			fmt.Sprintf("http://%s/api/v1/webpages_webpage", srv.Addr()), nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Token "+token)
		req.Header.Set("X-Tenant-ID", ref)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}

	srv.stopListen() // ends the LISTEN loop, nothing else
	require.Eventually(t, func() bool { return listeners(t, db) == 0 }, 10*time.Second, 20*time.Millisecond,
		"the server's LISTEN connection is closed")
	for _, step := range []struct {
		name, tenant string
		change       func(context.Context) error
		want         int
	}{
		{"deactivated tenant", "acme", func(ctx context.Context) error {
			_, err := registry.SetTenantActive(ctx, db.Owner, "acme", false)
			return err
		}, http.StatusForbidden},
		{"revoked token", "globex", func(ctx context.Context) error {
			return registry.RevokeToken(ctx, db.Owner, cred.ID)
		}, http.StatusUnauthorized},
	} {
		srv.resolver.Invalidate() // as after a reconnect: what the next request reads is cached for ttl
		loaded := time.Now()
		require.Equal(t, http.StatusOK, get(step.tenant))
		require.NoError(t, step.change(t.Context()))
		if time.Since(loaded) < ttl/2 {
			assert.Equal(t, http.StatusOK, get(step.tenant), "%s: no notification, so cached", step.name)
		}
		var got int
		for got = get(step.tenant); got != step.want && time.Since(loaded) < ttl+budget; got = get(step.tenant) {
			time.Sleep(10 * time.Millisecond)
		}
		since := time.Since(loaded)
		t.Logf("%s refused %v after the cache was filled (TTL %v), without NOTIFY", step.name, since, ttl)
		require.Equal(t, step.want, got, "%s: refused once the cache is %v old", step.name, ttl)
		assert.GreaterOrEqual(t, since, ttl, "%s: not before the TTL", step.name)
	}
}

// listeners counts the sessions of db whose last statement was LISTEN pgtenant, asking on a new connection each
// time.
func listeners(t *testing.T, db *pgtest.DB) int {
	t.Helper()
	admin, err := pgx.Connect(t.Context(), db.AdminURL)
	require.NoError(t, err)
	defer admin.Close(context.Background())
	var n int
	require.NoError(t, admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN '||$1`, ReloadChannel).Scan(&n))
	return n
}
