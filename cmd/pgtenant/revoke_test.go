package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/registry"
	"pgtenant/engine/server"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

// revocationBudget is how soon a running server must refuse a deactivated
// tenant or a revoked token (issue 4).
const revocationBudget = time.Second

// serveForTest starts the API in-process on 127.0.0.1, as the app login,
// with the given registry cache TTL, and stops it when t ends.
func serveForTest(t *testing.T, db *pgtest.DB, ttl time.Duration) *server.Server {
	t.Helper()
	declared, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors())
	cfg := DefaultConfig()
	cfg.DatabaseURL = db.LoginURL(t, "app", "reader")
	cfg.ListenAddr, cfg.AdminListenAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.CacheTTL = ttl
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := startServer(ctx, cfg, declared, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Wait(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
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
func client(t *testing.T, srv *server.Server) func(token, tenant string) answer {
	return func(token, tenant string) answer {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet,
			fmt.Sprintf("http://%s/api/v1/webpages_webpage", srv.Addr()), nil)
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

// adminEnv points the CLI's tenant and token commands at the test database as the table owner.
func adminEnv(db *pgtest.DB) cliEnv {
	return cliEnv{"ADMIN_DATABASE_URL": db.OwnerURL, "POLICIES_FILE": "../../policies.hcl"}
}

// TestServe_DeactivateAndRevoke deactivates a tenant, activates it and
// revokes a token through the CLI while the server runs, with a cache TTL
// of an hour: only the registry's NOTIFY can make the server change its
// answer within the second. The notification arrives asynchronously, a few
// milliseconds after the command's commit, so the test polls.
func TestServe_DeactivateAndRevoke(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := adminEnv(db)
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

	code, stdout, stderr := pgtenant(t, env, "tenant", "deactivate", "acme")
	returned := time.Now()
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "Tenant acme ("+acme.ID+") is inactive")
	a, latency, before := until(func() answer { return get(token, "acme") }, http.StatusForbidden, returned, revocationBudget)
	t.Logf("deactivated tenant refused %v after `tenant deactivate` returned (%d request(s) served before)", latency, before)
	require.Equal(t, http.StatusForbidden, a.status, "refused within %v", revocationBudget)
	assert.Less(t, latency, revocationBudget)
	assert.Equal(t, refused.body, a.body, "the same body as an unknown tenant: PGT011")
	assert.Equal(t, http.StatusOK, get(token, "globex").status, "the token's other tenant is still served")

	code, stdout, stderr = pgtenant(t, env, "tenant", "activate", acme.ID)
	returned = time.Now()
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "Tenant acme ("+acme.ID+") is active")
	a, latency, before = until(func() answer { return get(token, "acme") }, http.StatusOK, returned, revocationBudget)
	t.Logf("activated tenant served %v after `tenant activate` returned (%d request(s) refused before)", latency, before)
	require.Equal(t, http.StatusOK, a.status, "served again within %v", revocationBudget)

	code, stdout, stderr = pgtenant(t, env, "token", "revoke", "ci")
	returned = time.Now()
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `Token "ci" is revoked`)
	a, latency, before = until(func() answer { return get(token, "acme") }, http.StatusUnauthorized, returned, revocationBudget)
	t.Logf("revoked token refused %v after `token revoke` returned (%d request(s) served before)", latency, before)
	require.Equal(t, http.StatusUnauthorized, a.status, "refused within %v", revocationBudget)
	assert.Less(t, latency, revocationBudget)
	assert.Equal(t, "PGT002", a.code())
	assert.Equal(t, http.StatusUnauthorized, get(token, "globex").status, "for every tenant")

	code, stdout, stderr = pgtenant(t, env, "token", "revoke", cred.ID)
	assert.Equal(t, exitOK, code, "revoking twice is no error")
	assert.Regexp(t, `^Nothing to do: token already revoked: "ci" \(id `+cred.ID+`\) at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\.\n$`, stdout)
	assert.Empty(t, stderr)
}

// TestTenantTokenCLI_Errors: the new actions' mistakes, each one line and
// exit 1, or the usage and exit 2.
func TestTenantTokenCLI_Errors(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := adminEnv(db)
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
			code, stdout, stderr := pgtenant(t, env, tt.args...)
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

	code, stdout, stderr := pgtenant(t, env, "token", "revoke", "twin")
	assert.Equal(t, exitFailure, code)
	assert.Empty(t, stdout)
	assert.Regexp(t, `^pgtenant token revoke: more than one live token has this name: "twin" \(ids \S+, \S+\); revoke one by its id\n$`, stderr)

	env["ADMIN_DATABASE_URL"] = ""
	code, _, stderr = pgtenant(t, env, "token", "revoke", "twin")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "pgtenant token revoke: ADMIN_DATABASE_URL is not set")
}

func mustTenant(t *testing.T, db *pgtest.DB, identifier string) string {
	t.Helper()
	tn, err := registry.CreateTenant(t.Context(), db.Owner, identifier, identifier, "test")
	require.NoError(t, err)
	return tn.ID
}
