package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/registry"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

// TestServe_AdminListener starts the server as serve does, with its admin
// listener, and checks /metrics after real traffic, /healthz, /readyz, that
// a schema reload is counted, and that shutting down (SIGTERM cancels the
// context) makes /readyz answer 503 while an in-flight request drains.
func TestServe_AdminListener(t *testing.T) {
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
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	srv, err := startServer(ctx, cfg, declared, slog.New(slog.DiscardHandler), ln)
	require.NoError(t, err)
	defer srv.close()
	require.NoError(t, srv.serveAdmin("", adminLn))
	done := make(chan int, 1)
	go func() { done <- srv.wait(ctx, &env{stdout: io.Discard, stderr: io.Discard}) }()

	admin := func(path string) (int, string) {
		c := http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get("http://" + srv.adminAddr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/api/v1/webpages_webpage?select=id", srv.addr), nil)
	req.Header.Set("Authorization", "Token "+token)
	req.Header.Set("X-Tenant-ID", "acme")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	srv.reload(ctx)

	code, body := admin("/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, want := range []string{
		`pgtenant_http_requests_total{method="GET",route="/api/v1/{table}",status="200"} 1`,
		`pgtenant_http_request_duration_seconds_count{method="GET",route="/api/v1/{table}"} 1`,
		`pgtenant_schema_reloads_total{result="ok"} 1`, `pgtenant_schema_reloads_total{result="error"} 0`,
		"pgtenant_ratelimit_rejections_total 0", "pgtenant_pool_max_connections ", "pgtenant_pool_acquires_total ",
		"pgtenant_build_info{",
	} {
		assert.Contains(t, body, want)
	}
	assert.NotContains(t, body, tn.ID)
	assert.NotContains(t, body, "select=")
	code, _ = admin("/healthz")
	assert.Equal(t, http.StatusOK, code)
	code, body = admin("/readyz")
	assert.Equal(t, http.StatusOK, code, body)
	code, _ = admin("/nothing")
	assert.Equal(t, http.StatusNotFound, code)

	// An in-flight request (its body half sent, the handler reading it)
	// keeps Shutdown waiting: the server is draining, and /readyz says so.
	conn, err := net.Dial("tcp", srv.addr)
	require.NoError(t, err)
	defer conn.Close()
	payload := `{"slug":"drain","name":"Drained"}`
	_, err = fmt.Fprintf(conn, "POST /api/v1/content_namespace HTTP/1.1\r\nHost: x\r\nAuthorization: Token %s\r\n"+
		"X-Tenant-ID: acme\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", token, len(payload),
		payload[:5])
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond) // let the handler start reading the body
	cancel()
	assert.Eventually(t, func() bool {
		code, body := admin("/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"draining"`)
	}, 5*time.Second, 20*time.Millisecond, "/readyz answers 503 while draining")
	code, _ = admin("/healthz")
	assert.Equal(t, http.StatusOK, code, "alive while draining")

	_, err = fmt.Fprint(conn, payload[5:])
	require.NoError(t, err)
	r, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusCreated, r.StatusCode, "the in-flight request is served")
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code)
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not shut down")
	}
	code, _ = admin("/healthz")
	assert.Zero(t, code, "the admin listener is closed after shutdown")
}

// TestConfig_Isolation checks the settings that keep tenants from stalling
// each other: defaults, values and problems.
func TestConfig_Isolation(t *testing.T) {
	c := DefaultConfig()
	assert.Equal(t, 30*time.Second, c.WriteTimeout)
	assert.Equal(t, 1.0, c.AuthFailureRPS)
	assert.Equal(t, 20, c.AuthFailureBurst)

	t.Setenv("WRITE_TIMEOUT", "5s")
	t.Setenv("AUTH_FAILURE_RPS", "0.5")
	t.Setenv("AUTH_FAILURE_BURST", "3")
	t.Setenv("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.9,2001:db8::/32")
	c, problems := LoadConfig()
	assert.Empty(t, problems)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.9/32"),
		netip.MustParsePrefix("2001:db8::/32")}, c.TrustedProxies)
	assert.Equal(t, 5*time.Second, c.WriteTimeout)
	assert.Equal(t, 0.5, c.AuthFailureRPS)
	assert.Equal(t, 3, c.AuthFailureBurst)

	t.Setenv("WRITE_TIMEOUT", "soon")
	t.Setenv("AUTH_FAILURE_RPS", "-1")
	t.Setenv("AUTH_FAILURE_BURST", "many")
	t.Setenv("TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal")
	_, problems = LoadConfig()
	for _, want := range []string{"WRITE_TIMEOUT", "AUTH_FAILURE_RPS", "AUTH_FAILURE_BURST", `TRUSTED_PROXIES: want addresses or CIDR ranges such as 10.0.0.0/8, got "proxy.internal"`} {
		assert.True(t, strings.Contains(strings.Join(problems, "\n"), want), "%s: %v", want, problems)
	}
}

// TestConfig_Operations checks the new settings' defaults and problems.
func TestConfig_Operations(t *testing.T) {
	c := DefaultConfig()
	assert.Equal(t, "127.0.0.1:3001", c.AdminListenAddr, "loopback by default")
	assert.Equal(t, time.Second, c.SlowRequestThreshold)
	assert.Zero(t, c.RateLimitRPS, "no rate limit by default")

	t.Setenv("ADMIN_LISTEN_ADDR", "127.0.0.1:9100")
	t.Setenv("RATE_LIMIT_RPS", "2.5")
	t.Setenv("RATE_LIMIT_BURST", "10")
	t.Setenv("SLOW_REQUEST_THRESHOLD", "250ms")
	c, problems := LoadConfig()
	assert.Empty(t, problems)
	assert.Equal(t, "127.0.0.1:9100", c.AdminListenAddr)
	assert.Equal(t, 2.5, c.RateLimitRPS)
	assert.Equal(t, 10, c.RateLimitBurst)
	assert.Equal(t, 250*time.Millisecond, c.SlowRequestThreshold)

	t.Setenv("ADMIN_LISTEN_ADDR", "nowhere")
	t.Setenv("RATE_LIMIT_RPS", "-1")
	t.Setenv("RATE_LIMIT_BURST", "many")
	t.Setenv("SLOW_REQUEST_THRESHOLD", "later")
	_, problems = LoadConfig()
	for _, want := range []string{"ADMIN_LISTEN_ADDR", "RATE_LIMIT_RPS", "RATE_LIMIT_BURST", "SLOW_REQUEST_THRESHOLD"} {
		assert.True(t, strings.Contains(strings.Join(problems, "\n"), want), "%s: %v", want, problems)
	}
}

// TestConfig_CacheControl: CACHE_CONTROL defaults to private, no-store; a value that is not Cache-Control, or
// that would let a shared cache keep an answer, refuses to start.
func TestConfig_CacheControl(t *testing.T) {
	assert.Equal(t, "private, no-store", DefaultConfig().CacheControl)
	tests := []struct {
		value string
		want  string // a fragment of the problem; "" when valid
	}{
		{"", ""}, // unset: the default
		{"no-store", ""},
		{"private, max-age=60", ""},
		{`private, no-cache="Set-Cookie"`, ""},
		{"no-store, max-age=0, must-revalidate", ""},
		{"max-age=60", "lacks private or no-store"},
		{"public, max-age=60", `"public" would let a shared cache`},
		{"private, s-maxage=60", `"s-maxage=60" would let a shared cache`},
		{"no store", "is not a Cache-Control directive"},
		{"no-store\u00a0", "is not a Cache-Control directive"},
		{`private="x`, "is not a Cache-Control directive"},
		{" , ", "want Cache-Control directives"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Setenv("CACHE_CONTROL", tt.value)
			c, problems := LoadConfig()
			if tt.want == "" {
				assert.Empty(t, problems)
				assert.Equal(t, cmp.Or(tt.value, "private, no-store"), c.CacheControl)
				return
			}
			assert.Contains(t, strings.Join(problems, "\n"), "CACHE_CONTROL: ")
			assert.Contains(t, strings.Join(problems, "\n"), tt.want)
		})
	}
}

// TestConfig_BackupKey: BACKUP_KEY needs 32 bytes, and is never printed.
func TestConfig_BackupKey(t *testing.T) {
	t.Setenv("BACKUP_KEY", "hunter2-hunter2")
	_, problems := LoadConfig()
	all := strings.Join(problems, "\n")
	assert.Contains(t, all, "BACKUP_KEY: want at least 32 bytes (e.g. `openssl rand -base64 48`), got 15")
	assert.NotContains(t, all, "hunter2")
	t.Setenv("BACKUP_KEY", strings.Repeat("k", 32))
	c, problems := LoadConfig()
	assert.Empty(t, problems)
	assert.Equal(t, strings.Repeat("k", 32), c.BackupKey)
}
