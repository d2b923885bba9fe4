package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/registry"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

// revocationBudget is how soon a running server must refuse a deactivated
// tenant or a revoked token (issue 4).
const revocationBudget = time.Second

// serveForTest starts the API in-process on 127.0.0.1, as the app login,
// with the given registry cache TTL, and stops it when t ends.
func serveForTest(t *testing.T, db *pgtest.DB, ttl time.Duration) *running {
	t.Helper()
	declared, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors())
	cfg := DefaultConfig()
	cfg.DatabaseURL = db.LoginURL(t, "app", "reader")
	cfg.CacheTTL = ttl
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := startServer(ctx, cfg, declared, slog.New(slog.DiscardHandler), ln)
	require.NoError(t, err)
	done := make(chan int, 1)
	go func() { done <- srv.wait(ctx, &env{stdout: io.Discard, stderr: io.Discard}) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.close()
	})
	return srv
}

// answer is one response: status and body.
type answer struct {
	status int
	body   string
}

func (a answer) code() string {
	var e struct{ Code string }
	_ = json.Unmarshal([]byte(a.body), &e)
	return e.Code
}

// client sends GET webpages_webpage with a token and a tenant header.
func client(t *testing.T, srv *running) func(token, tenant string) answer {
	return func(token, tenant string) answer {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet,
			fmt.Sprintf("http://%s/api/v1/webpages_webpage", srv.addr), nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Token "+token)
		req.Header.Set("X-Tenant-ID", tenant)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return answer{resp.StatusCode, string(b)}
	}
}

// until sends requests back to back (10ms apart) until one gets status
// want or budget passes since start, and returns the first such answer, how
// long after start it came, and how many requests still got another status.
func until(get func() answer, want int, start time.Time, budget time.Duration) (answer, time.Duration, int) {
	var before int
	for {
		a := get()
		if elapsed := time.Since(start); a.status == want || elapsed > budget {
			return a, elapsed, before
		}
		before++
		time.Sleep(10 * time.Millisecond)
	}
}

// adminEnv points the CLI's tenant and token commands at the test database
// as the table owner.
func adminEnv(t *testing.T, db *pgtest.DB) {
	t.Setenv("ADMIN_DATABASE_URL", db.OwnerURL)
	t.Setenv("DATABASE_URL", "")
	t.Setenv("POLICIES_FILE", "../../policies.hcl")
}

// TestServe_DeactivateAndRevoke deactivates a tenant, activates it and
// revokes a token through the CLI while the server runs, with a cache TTL
// of an hour: only the registry's NOTIFY can make the server change its
// answer within the second. The notification arrives asynchronously, a few
// milliseconds after the command's commit, so the test polls.
func TestServe_DeactivateAndRevoke(t *testing.T) {
	db := pgtest.New(t)
	adminEnv(t, db)
	acme, err := registry.CreateTenant(t.Context(), db.Owner, "acme", "Acme", "test")
	require.NoError(t, err)
	_, err = registry.CreateTenant(t.Context(), db.Owner, "globex", "Globex", "test")
	require.NoError(t, err)
	token, cred, err := registry.CreateToken(t.Context(), db.Owner, "ci", "app", []string{"acme", "globex"})
	require.NoError(t, err)
	srv := serveForTest(t, db, time.Hour)
	get := client(t, srv)

	require.Equal(t, http.StatusOK, get(token, "acme").status)
	require.Equal(t, http.StatusOK, get(token, "globex").status)
	refused := get(token, "initech") // an unknown tenant: the body every refused tenant gets
	require.Equal(t, http.StatusForbidden, refused.status)
	require.Equal(t, "PGT011", refused.code())

	code, stdout, stderr := pgtenant(t, "tenant", "deactivate", "acme")
	returned := time.Now()
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "Tenant acme ("+acme.ID+") is inactive")
	a, latency, before := until(func() answer { return get(token, "acme") }, http.StatusForbidden, returned, revocationBudget)
	t.Logf("deactivated tenant refused %v after `tenant deactivate` returned (%d request(s) served before)", latency, before)
	require.Equal(t, http.StatusForbidden, a.status, "refused within %v", revocationBudget)
	assert.Less(t, latency, revocationBudget)
	assert.Equal(t, refused.body, a.body, "the same body as an unknown tenant: PGT011")
	assert.Equal(t, http.StatusOK, get(token, "globex").status, "the token's other tenant is still served")

	code, stdout, stderr = pgtenant(t, "tenant", "activate", acme.ID)
	returned = time.Now()
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "Tenant acme ("+acme.ID+") is active")
	a, latency, before = until(func() answer { return get(token, "acme") }, http.StatusOK, returned, revocationBudget)
	t.Logf("activated tenant served %v after `tenant activate` returned (%d request(s) refused before)", latency, before)
	require.Equal(t, http.StatusOK, a.status, "served again within %v", revocationBudget)

	code, stdout, stderr = pgtenant(t, "token", "revoke", "ci")
	returned = time.Now()
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `Token "ci" is revoked`)
	a, latency, before = until(func() answer { return get(token, "acme") }, http.StatusUnauthorized, returned, revocationBudget)
	t.Logf("revoked token refused %v after `token revoke` returned (%d request(s) served before)", latency, before)
	require.Equal(t, http.StatusUnauthorized, a.status, "refused within %v", revocationBudget)
	assert.Less(t, latency, revocationBudget)
	assert.Equal(t, "PGT002", a.code())
	assert.Equal(t, http.StatusUnauthorized, get(token, "globex").status, "for every tenant")

	code, stdout, stderr = pgtenant(t, "token", "revoke", cred.ID)
	assert.Equal(t, exitOK, code, "revoking twice is no error")
	assert.Regexp(t, `^Nothing to do: token already revoked: "ci" \(id `+cred.ID+`\) at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\.\n$`, stdout)
	assert.Empty(t, stderr)
}

// TestServe_TTLFallback runs a server whose notifications are cut off (its
// LISTEN connection is stopped), with a 2s cache TTL: it refuses a
// deactivated tenant and a revoked token once what it cached is 2s old, not
// before, and not later than a moment after.
func TestServe_TTLFallback(t *testing.T) {
	const ttl = 2 * time.Second
	db := pgtest.New(t)
	adminEnv(t, db)
	_, err := registry.CreateTenant(t.Context(), db.Owner, "acme", "Acme", "test")
	require.NoError(t, err)
	_, err = registry.CreateTenant(t.Context(), db.Owner, "globex", "Globex", "test")
	require.NoError(t, err)
	token, _, err := registry.CreateToken(t.Context(), db.Owner, "ci", "app", []string{"acme", "globex"})
	require.NoError(t, err)
	srv := serveForTest(t, db, ttl)
	get := client(t, srv)

	srv.stop() // ends the LISTEN loop, nothing else
	require.Eventually(t, func() bool { return listeners(t, db) == 0 }, 10*time.Second, 20*time.Millisecond,
		"the server's LISTEN connection is closed")

	for _, step := range []struct {
		name, tenant string
		args         []string
		want         int
	}{
		{"deactivated tenant", "acme", []string{"tenant", "deactivate", "acme"}, http.StatusForbidden},
		{"revoked token", "globex", []string{"token", "revoke", "ci"}, http.StatusUnauthorized},
	} {
		srv.resolver.Invalidate() // as after a reconnect: what the next request reads is cached for ttl
		loaded := time.Now()
		require.Equal(t, http.StatusOK, get(token, step.tenant).status)
		code, _, stderr := pgtenant(t, step.args...)
		require.Equal(t, exitOK, code, stderr)
		if time.Since(loaded) < ttl/2 {
			assert.Equal(t, http.StatusOK, get(token, step.tenant).status, "%s: no notification, so cached", step.name)
		}
		a, since, _ := until(func() answer { return get(token, step.tenant) }, step.want, loaded, ttl+revocationBudget)
		t.Logf("%s refused %v after the cache was filled (TTL %v), without NOTIFY", step.name, since, ttl)
		require.Equal(t, step.want, a.status, "%s: refused once the cache is %v old", step.name, ttl)
		assert.GreaterOrEqual(t, since, ttl, "%s: not before the TTL", step.name)
	}
}

// TestTenantTokenCLI_Errors: the new actions' mistakes, each one line and
// exit 1, or the usage and exit 2.
func TestTenantTokenCLI_Errors(t *testing.T) {
	db := pgtest.New(t)
	adminEnv(t, db)
	_, _, err := registry.CreateToken(t.Context(), db.Owner, "twin", "app", []string{mustTenant(t, db, "acme")})
	require.NoError(t, err)
	_, _, err = registry.CreateToken(t.Context(), db.Owner, "twin", "app", []string{"acme"})
	require.NoError(t, err)

	for _, tt := range []struct {
		args       []string
		wantCode   int
		wantStderr string // the whole of stderr for exit 1; its first line for exit 2
	}{
		{[]string{"tenant", "deactivate", "initech"}, exitFailure, "pgtenant tenant deactivate: unknown tenant \"initech\"\n"},
		{[]string{"tenant", "activate", "00000000-0000-0000-0000-000000000000"}, exitFailure, "pgtenant tenant activate: unknown tenant \"00000000-0000-0000-0000-000000000000\"\n"},
		{[]string{"token", "revoke", "nope"}, exitFailure, "pgtenant token revoke: unknown token \"nope\"\n"},
		{[]string{"tenant", "deactivate"}, exitUsage, "pgtenant tenant deactivate: name the tenant: its identifier or UUID"},
		{[]string{"tenant", "activate", "acme", "globex"}, exitUsage, "pgtenant tenant activate: unexpected argument \"globex\""},
		{[]string{"tenant", "deactivate", "--force", "acme"}, exitUsage, "flag provided but not defined: -force"},
		{[]string{"token", "revoke"}, exitUsage, "pgtenant token revoke: name the token: its id or name"},
		{[]string{"token", "revoke", "a", "b"}, exitUsage, "pgtenant token revoke: unexpected argument \"b\""},
	} {
		t.Run(fmt.Sprint(tt.args), func(t *testing.T) {
			code, stdout, stderr := pgtenant(t, tt.args...)
			assert.Equal(t, tt.wantCode, code)
			assert.Empty(t, stdout)
			if tt.wantCode == exitFailure {
				assert.Equal(t, tt.wantStderr, stderr)
			} else {
				assert.Contains(t, stderr, tt.wantStderr+"\n")
				assert.Contains(t, stderr, "Usage: pgtenant "+tt.args[0]+" "+tt.args[1])
			}
		})
	}

	code, stdout, stderr := pgtenant(t, "token", "revoke", "twin")
	assert.Equal(t, exitFailure, code)
	assert.Empty(t, stdout)
	assert.Regexp(t, `^pgtenant token revoke: more than one live token has this name: "twin" \(ids \S+, \S+\); revoke one by its id\n$`, stderr)

	t.Setenv("ADMIN_DATABASE_URL", "")
	code, _, stderr = pgtenant(t, "token", "revoke", "twin")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "pgtenant token revoke: ADMIN_DATABASE_URL is not set")
}

func mustTenant(t *testing.T, db *pgtest.DB, identifier string) string {
	t.Helper()
	tn, err := registry.CreateTenant(t.Context(), db.Owner, identifier, identifier, "test")
	require.NoError(t, err)
	return tn.ID
}

// listeners counts the sessions of db whose last statement was LISTEN
// pgtenant, asking on a new connection each time.
func listeners(t *testing.T, db *pgtest.DB) int {
	t.Helper()
	admin, err := pgx.Connect(t.Context(), db.AdminURL)
	require.NoError(t, err)
	defer admin.Close(context.Background())
	var n int
	require.NoError(t, admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN pgtenant'`).Scan(&n))
	return n
}
