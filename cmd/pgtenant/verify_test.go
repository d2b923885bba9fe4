package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/registry"
	"pgtenant/engine/tenant"
	"pgtenant/engine/verify"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

// deployment is a fresh migrated database and an environment that points the CLI at it: the owner, an app login
// holding app and reader (as `make run` sets them up), the repository's declaration and migrations. It returns the
// database, the environment and the app URL.
func deployment(t *testing.T) (*pgtest.DB, cliEnv, string) {
	t.Helper()
	db := pgtest.New(t)
	app := db.LoginURL(t, "app", "reader")
	return db, cliEnv{"DATABASE_URL": app, "ADMIN_DATABASE_URL": db.OwnerURL, "POLICIES_FILE": "../../policies.hcl",
		"MIGRATIONS_DIR": "../../migrations"}, app
}

func TestVerify_Clean(t *testing.T) {
	t.Parallel()
	_, env, _ := deployment(t)
	code, stdout, stderr := pgtenant(t, env, "verify")
	require.Equal(t, exitOK, code, stdout+stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 15, stdout) // 13 checks, a blank line, the summary
	for _, l := range lines[:13] {
		assert.True(t, strings.HasPrefix(l, "✓ "), l)
	}
	assert.Contains(t, stdout, "13 of 13 checks passed. The HTTP checks did not run")

	code, stdout, _ = pgtenant(t, env, "verify", "--json")
	require.Equal(t, exitOK, code)
	var results []verify.Result
	require.NoError(t, json.Unmarshal([]byte(stdout), &results), stdout)
	require.Len(t, results, 13)
	for _, r := range results {
		assert.True(t, r.OK, "%s: %s", r.Name, r.Detail)
		assert.Empty(t, r.Fix)
	}
	assert.Contains(t, stdout, `"name": "isolation probe: two tenants, as the app role, rolled back"`)
}

// TestVerify_Acceptance: issue 4's two acceptance cases, as an operator sees them.
func TestVerify_Acceptance(t *testing.T) {
	t.Parallel()
	t.Run("NO FORCE on webpages_webpage", func(t *testing.T) {
		t.Parallel()
		db, env, _ := deployment(t)
		_, err := db.Owner.Exec(t.Context(), "ALTER TABLE webpages_webpage NO FORCE ROW LEVEL SECURITY")
		require.NoError(t, err)
		code, stdout, _ := pgtenant(t, env, "verify")
		assert.Equal(t, exitFailure, code)
		assert.Contains(t, stdout, "✗ RLS: enabled and forced on every declared table — table public.webpages_webpage "+
			"has row-level security enabled but not forced: its owner is exempt from the policies\n"+
			"    fix: ALTER TABLE public.webpages_webpage FORCE ROW LEVEL SECURITY;\n")
		assert.Contains(t, stdout, "12 of 13 checks passed.")

		code, stdout, _ = pgtenant(t, env, "verify", "--json")
		assert.Equal(t, exitFailure, code)
		var results []verify.Result
		require.NoError(t, json.Unmarshal([]byte(stdout), &results))
		for _, r := range results {
			if r.Name == verify.CheckRLSDeclared {
				assert.False(t, r.OK)
				assert.Equal(t, "ALTER TABLE public.webpages_webpage FORCE ROW LEVEL SECURITY;", r.Fix)
			}
		}
	})
	t.Run("superuser DATABASE_URL", func(t *testing.T) {
		t.Parallel()
		db, env, _ := deployment(t)
		env["DATABASE_URL"] = db.AdminURL
		u, err := url.Parse(db.AdminURL)
		require.NoError(t, err)
		code, stdout, _ := pgtenant(t, env, "verify")
		assert.Equal(t, exitFailure, code)
		assert.Contains(t, stdout, "✗ app role: not superuser, no BYPASSRLS, owns no table — role "+u.User.Username()+
			" is a superuser, which bypasses row-level security")
		pw, _ := u.User.Password()
		assert.NotContains(t, stdout, pw, "a password is never printed")
	})
}

func TestVerify_Usage(t *testing.T) {
	t.Parallel()
	_, env, _ := deployment(t)
	code, _, stderr := pgtenant(t, env, "verify", "--token", "x")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--token is only used with --server")
	code, _, stderr = pgtenant(t, env, "verify", "extra")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "Usage: pgtenant verify")
	code, _, stderr = pgtenant(t, env, "verify", "--admin", "http://127.0.0.1:3001")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--admin is only used with --server")
	code, _, stderr = pgtenant(t, env, "verify", "--drill-tenant", "acme")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--drill-tenant is only used with --drills")
}

// TestVerify_Drills: --drills adds the restore and rollback drills, on scratch databases of DEV_DATABASE_URL
// (without it, of a private throwaway server under TMPDIR: the acceptance test of `make run` runs that way).
func TestVerify_Drills(t *testing.T) {
	t.Parallel()
	db, env, app := deployment(t)
	env["DEV_DATABASE_URL"] = devServer(t)
	env["TMPDIR"] = t.TempDir()
	code, stdout, _ := pgtenant(t, env, "verify", "--drills")
	assert.Equal(t, exitFailure, code, "no tenant: nothing to back up")
	assert.Contains(t, stdout, "✗ "+verify.CheckBackupDrill+" — no active tenant is registered")
	assert.Contains(t, stdout, "✓ "+verify.CheckRollbackDrill)
	assert.Contains(t, stdout, "14 of 15 checks passed.")

	acme, err := registry.CreateTenant(t.Context(), db.Owner, "acme", "Acme", "test")
	require.NoError(t, err)
	conn, err := pgx.Connect(t.Context(), app)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	require.NoError(t, pgx.BeginFunc(t.Context(), conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), "SELECT set_config('app.current_tenant_id', $1, true)", acme.ID); err != nil {
			return err
		}
		_, err := tx.Exec(t.Context(), "INSERT INTO content_namespace (slug, name) VALUES ('www', 'Site')")
		return err
	}))
	code, stdout, stderr := pgtenant(t, env, "verify", "--drills", "--drill-tenant", "acme")
	require.Equal(t, exitOK, code, stdout+stderr)
	assert.Contains(t, stdout, "✓ "+verify.CheckBackupDrill+"\n")
	assert.Contains(t, stdout, "15 of 15 checks passed. The HTTP checks did not run")
	assert.NotContains(t, stdout, "The drills did not run")
}

// TestVerify_Server runs verify --server against an API started in-process on the same database.
func TestVerify_Server(t *testing.T) {
	t.Parallel()
	db, env, app := deployment(t)
	declared, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors())
	// start serves the API and its admin listener, each on a port of its own, and returns the verify flags that
	// point at them.
	start := func(t *testing.T, mutate func(*Config)) (base string, flags []string) {
		cfg := DefaultConfig()
		cfg.DatabaseURL = app
		mutate(&cfg)
		cfg.ListenAddr, cfg.AdminListenAddr = "127.0.0.1:0", "127.0.0.1:0"
		srv, err := startServer(t.Context(), cfg, declared, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		t.Cleanup(srv.Close)
		base = "http://" + srv.Addr() + "/api/v1"
		return base, []string{"--server", base, "--admin", "http://" + srv.AdminAddr()}
	}
	serverLine := regexp.MustCompile(`(?m)^([✓✗]) ` + regexp.QuoteMeta(verify.CheckServer) + `(.*)$`)
	adminLine := regexp.MustCompile(`(?m)^([✓✗]) ` + regexp.QuoteMeta(verify.CheckMonitoring) + `(.*)$`)

	t.Run("without a token", func(t *testing.T) {
		_, flags := start(t, func(*Config) {})
		code, stdout, stderr := pgtenant(t, env, append([]string{"verify"}, flags...)...)
		require.Equal(t, exitOK, code, stdout+stderr)
		assert.Equal(t, "✓", serverLine.FindStringSubmatch(stdout)[1])
		assert.Equal(t, "✓", adminLine.FindStringSubmatch(stdout)[1])
		assert.Contains(t, stdout, "15 of 15 checks passed. The drills did not run: pass --drills.\n")

		_, stdout, _ = pgtenant(t, env, append([]string{"verify", "--json"}, flags...)...)
		var results []verify.Result
		require.NoError(t, json.Unmarshal([]byte(stdout), &results))
		srv, admin := results[len(results)-2], results[len(results)-1]
		assert.Equal(t, verify.CheckServer, srv.Name)
		assert.Equal(t, "no header: 403 PGT010; two unknown tenants and a registered one the token may not use: "+
			"401 PGT002, identical (without --token only the unauthenticated answer was checked)", srv.Detail)
		assert.Equal(t, verify.CheckMonitoring, admin.Name)
		assert.True(t, admin.OK, admin.Detail)
	})
	t.Run("the admin listener elsewhere", func(t *testing.T) {
		base, _ := start(t, func(*Config) {})
		code, stdout, _ := pgtenant(t, env, "verify", "--server", base, "--admin", "http://127.0.0.1:1")
		assert.Equal(t, exitFailure, code)
		m := adminLine.FindStringSubmatch(stdout)
		require.NotNil(t, m, stdout)
		assert.Equal(t, "✗", m[1])
		assert.Contains(t, m[2], "GET http://127.0.0.1:1/metrics")
		assert.Contains(t, stdout, "fix: start the server with ADMIN_LISTEN_ADDR reachable from here")
		assert.Equal(t, "✓", serverLine.FindStringSubmatch(stdout)[1])

		// Without --admin, ADMIN_LISTEN_ADDR says where it is, and --admin-listen-addr wins over it.
		_, stdout, _ = pgtenant(t, env.with("ADMIN_LISTEN_ADDR", "127.0.0.1:1"), "verify", "--server", base)
		assert.Contains(t, adminLine.FindStringSubmatch(stdout)[2], "GET http://127.0.0.1:1/metrics")
		_, stdout, _ = pgtenant(t, env.with("ADMIN_LISTEN_ADDR", "127.0.0.1:1"), "verify", "--server", base,
			"--admin-listen-addr", "127.0.0.1:2")
		assert.Contains(t, adminLine.FindStringSubmatch(stdout)[2], "GET http://127.0.0.1:2/metrics")
	})
	t.Run("with a token, from stdin", func(t *testing.T) {
		_, flags := start(t, func(*Config) {})
		acme, err := registry.CreateTenant(t.Context(), db.Owner, "acme", "Acme", "test")
		require.NoError(t, err)
		token, _, err := registry.CreateToken(t.Context(), db.Owner, "verify", "app", []string{acme.ID})
		require.NoError(t, err)
		var out, errb strings.Builder
		code := run(t.Context(), append([]string{"verify", "--token", "-", "--json"}, flags...),
			env.get, strings.NewReader(token+"\n"), &out, &errb)
		require.Equal(t, exitOK, code, out.String()+errb.String())
		assert.Contains(t, out.String(), "403 PGT011, identical")
		assert.NotContains(t, out.String(), token)

		code, stdout, _ := pgtenant(t, env, append([]string{"verify", "--token", tenant.FormatToken([32]byte{})}, flags...)...)
		assert.Equal(t, exitFailure, code)
		m := serverLine.FindStringSubmatch(stdout)
		require.NotNil(t, m, stdout)
		assert.Equal(t, "✗", m[1])
		assert.Contains(t, m[2], "the server refused --token: 401 PGT002")
		assert.Contains(t, stdout, "fix: pass a live token")
	})
	t.Run("a server with a default tenant", func(t *testing.T) {
		_, flags := start(t, func(c *Config) { c.RequireTenant, c.DefaultTenant = false, "acme" })
		code, stdout, _ := pgtenant(t, env, append([]string{"verify"}, flags...)...)
		assert.Equal(t, exitFailure, code)
		m := serverLine.FindStringSubmatch(stdout)
		require.NotNil(t, m, stdout)
		assert.Equal(t, "✗", m[1])
		assert.Contains(t, m[2], "a request without the X-Tenant-ID header got 401 PGT001, not 403")
		assert.Contains(t, stdout, "fix: set REQUIRE_TENANT=true and unset DEFAULT_TENANT_ID on the server")
	})
	t.Run("nothing listening", func(t *testing.T) {
		code, stdout, _ := pgtenant(t, env, "verify", "--server", "http://127.0.0.1:1/api/v1", "--admin", "http://127.0.0.1:1")
		assert.Equal(t, exitFailure, code)
		assert.Contains(t, stdout, "✗ "+verify.CheckServer+" — GET http://127.0.0.1:1/api/v1/content_namespace")
	})
}
