package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/registry"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

func TestServe_RefusesUnsafeRoles(t *testing.T) {
	db := pgtest.New(t)
	t.Setenv("POLICIES_FILE", "../../policies.hcl")
	t.Setenv("ADMIN_DATABASE_URL", "")
	t.Setenv("LISTEN_ADDR", "127.0.0.1:0")
	t.Setenv("ADMIN_LISTEN_ADDR", "127.0.0.1:0") // a port of its own, should it get that far
	for _, tt := range []struct {
		name, url, want string
	}{
		{"the table owner", db.OwnerURL, "owns"},
		{"a superuser", db.AdminURL, "superuser"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DATABASE_URL", tt.url)
			code, _, stderr := pgtenant(t, "serve")
			assert.Equal(t, exitFailure, code)
			assert.Contains(t, stderr, "refusing to serve")
			assert.Contains(t, stderr, tt.want)
		})
	}
}

func TestServe_RefusesBadConfig(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	code, _, stderr := pgtenant(t, "serve")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "DATABASE_URL is not set")

	t.Setenv("MAX_ROWS", "lots")
	t.Setenv("STATEMENT_TIMEOUT", "soon")
	t.Setenv("REQUIRE_TENANT", "maybe")
	code, _, stderr = pgtenant(t, "serve")
	assert.Equal(t, exitUsage, code)
	for _, want := range []string{"MAX_ROWS", "STATEMENT_TIMEOUT", "REQUIRE_TENANT"} {
		assert.Contains(t, stderr, want, "one line per problem")
	}
}

// TestServe_ReloadAndShutdown starts the server in-process, adds a table,
// announces it with NOTIFY pgtenant, 'reload' and expects it served, then
// stops the server through its context.
func TestServe_ReloadAndShutdown(t *testing.T) {
	db := pgtest.New(t)
	declared, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors())
	tn, err := registry.CreateTenant(t.Context(), db.Owner, "acme", "Acme", "test")
	require.NoError(t, err)
	token, _, err := registry.CreateToken(t.Context(), db.Owner, "t", "app", []string{tn.ID})
	require.NoError(t, err)

	cfg := DefaultConfig()
	cfg.DatabaseURL = db.LoginURL(t, "app", "reader")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	srv, err := startServer(ctx, cfg, declared, slog.New(slog.DiscardHandler), ln)
	require.NoError(t, err)
	done := make(chan int, 1)
	go func() { done <- srv.wait(ctx, &env{stdout: io.Discard, stderr: io.Discard}) }()
	defer srv.close()

	get := func(table string) int {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/api/v1/%s", srv.addr, table), nil)
		req.Header.Set("Authorization", "Token "+token)
		req.Header.Set("X-Tenant-ID", "acme")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, get("webpages_webpage"))
	require.Equal(t, http.StatusNotFound, get("note"))

	_, err = db.Owner.Exec(t.Context(), strings.Join([]string{
		"CREATE TABLE public.note (tenant_id uuid NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id))",
		"ALTER TABLE public.note ENABLE ROW LEVEL SECURITY",
		"ALTER TABLE public.note FORCE ROW LEVEL SECURITY",
		"CREATE POLICY tenant_isolation ON public.note AS RESTRICTIVE USING (tenant_id = (SELECT NULLIF(current_setting('app.current_tenant_id', true), '')::uuid))",
		"CREATE POLICY app_access ON public.note TO app USING (tenant_id = (SELECT NULLIF(current_setting('app.current_tenant_id', true), '')::uuid))",
		"GRANT SELECT ON public.note TO app",
		"NOTIFY pgtenant, 'reload'",
	}, "; "))
	require.NoError(t, err)
	assert.Eventually(t, func() bool { return get("note") == http.StatusOK }, 10*time.Second, 50*time.Millisecond,
		"the new table is served after NOTIFY pgtenant, 'reload'")

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code)
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not shut down")
	}
}
