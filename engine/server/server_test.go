package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/httpapi"
	"pgtenant/engine/registry"
	"pgtenant/engine/server"
	"pgtenant/engine/tenant"
	"pgtenant/internal/pgbouncer"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

// served is a server started by server.Start, with a token for tenant acme.
type served struct {
	srv    *server.Server
	token  string
	cancel context.CancelFunc // stops Wait: the shutdown SIGTERM starts
	reload chan os.Signal     // Wait's reload channel: what SIGHUP sends in cmd
	done   chan error         // what Wait returned
}

// config is the configuration of a server of the repository's declaration on db as a login holding app and reader,
// on a loopback port of its own, without an admin listener.
func config(t *testing.T, db *pgtest.DB) server.Config {
	return server.Config{
		DatabaseURL: db.LoginURL(t, "app", "reader"), Addr: "127.0.0.1:0",
		Tenant: tenant.Config{Require: true}, API: httpapi.Config{BasePath: "/api/v1"},
	}
}

// start registers tenant acme with a token on db, starts the server with cfg and has it Wait until t ends or
// cancel is called.
func start(t *testing.T, db *pgtest.DB, cfg server.Config) *served {
	t.Helper()
	declared, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors())
	tn, err := registry.CreateTenant(t.Context(), db.Owner, "acme", "Acme", "test")
	require.NoError(t, err)
	token, _, err := registry.CreateToken(t.Context(), db.Owner, "t", "app", []string{tn.ID})
	require.NoError(t, err)
	srv, err := server.Start(t.Context(), cfg, declared)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	s := &served{srv: srv, token: token, cancel: cancel, reload: make(chan os.Signal, 1), done: make(chan error, 1)}
	go func() { s.done <- srv.Wait(ctx, s.reload) }()
	t.Cleanup(func() {
		cancel()
		err := <-s.done
		s.done <- err // for a test that waits after the cleanup
		srv.Close()
	})
	return s
}

// stopped waits for Wait to return after cancel and returns its error.
func (s *served) stopped(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not shut down within 20 s")
		return nil
	}
}

// get sends GET /api/v1/{path} as acme.
func (s *served) get(ctx context.Context, c *http.Client, path string) (int, error) {
	code, _, err := s.getTraced(ctx, c, path)
	return code, err
}

// getTraced is get, and also says whether the server began to answer: a request it never read (a keep-alive
// connection it closed as idle, or one still in the listener's backlog when the listener closed) fails without a
// byte of response.
func (s *served) getTraced(ctx context.Context, c *http.Client, path string) (code int, answering bool, err error) {
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotFirstResponseByte: func() { answering = true }})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/api/v1/%s", s.srv.Addr(), path), nil)
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Authorization", "Token "+s.token)
	req.Header.Set("X-Tenant-ID", "acme")
	resp, err := c.Do(req)
	if err != nil {
		return 0, answering, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, true, err
}

func TestStart_RefusesUnsafeRoles(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	declared, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors())
	for _, tt := range []struct {
		name, url, want string
	}{
		{"the table owner", db.OwnerURL, "owns"},
		{"a superuser", db.AdminURL, "superuser"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(t, db)
			cfg.DatabaseURL = tt.url
			srv, err := server.Start(t.Context(), cfg, declared)
			if srv != nil {
				srv.Close()
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "refusing to serve")
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestServer_Reload adds a table and announces it with NOTIFY pgtenant, 'reload', then adds another and sends a
// value on the reload channel (SIGHUP in cmd): each is served after its reload. Then the server stops through its
// context.
func TestServer_Reload(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := start(t, db, config(t, db))
	get := func(table string) int {
		code, err := s.get(t.Context(), http.DefaultClient, table)
		require.NoError(t, err)
		return code
	}
	require.Equal(t, http.StatusOK, get("webpages_webpage"))
	create := func(table string) []string {
		return []string{
			"CREATE TABLE public." + table + " (tenant_id uuid NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id))",
			"ALTER TABLE public." + table + " ENABLE ROW LEVEL SECURITY",
			"ALTER TABLE public." + table + " FORCE ROW LEVEL SECURITY",
			"CREATE POLICY tenant_isolation ON public." + table + " AS RESTRICTIVE USING (tenant_id = (SELECT NULLIF(current_setting('app.current_tenant_id', true), '')::uuid))",
			"CREATE POLICY app_access ON public." + table + " TO app USING (tenant_id = (SELECT NULLIF(current_setting('app.current_tenant_id', true), '')::uuid))",
			"GRANT SELECT ON public." + table + " TO app",
		}
	}
	require.Equal(t, http.StatusNotFound, get("note"))
	_, err := db.Owner.Exec(t.Context(), strings.Join(append(create("note"), "NOTIFY pgtenant, 'reload'"), "; "))
	require.NoError(t, err)
	assert.Eventually(t, func() bool { return get("note") == http.StatusOK }, 10*time.Second, 50*time.Millisecond,
		"the new table is served after NOTIFY pgtenant, 'reload'")

	require.Equal(t, http.StatusNotFound, get("memo"))
	_, err = db.Owner.Exec(t.Context(), strings.Join(create("memo"), "; "))
	require.NoError(t, err)
	s.reload <- syscall.SIGHUP
	assert.Eventually(t, func() bool { return get("memo") == http.StatusOK }, 10*time.Second, 50*time.Millisecond,
		"the new table is served after a reload signal")

	s.cancel()
	assert.NoError(t, s.stopped(t))
}

// TestServer_AdminListener starts the server with its admin listener, and checks /metrics after real traffic,
// /healthz, /readyz, that a schema reload is counted, and that shutting down (SIGTERM cancels the context) makes
// /readyz answer 503 while an in-flight request drains.
func TestServer_AdminListener(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	cfg := config(t, db)
	cfg.AdminAddr = "127.0.0.1:0"
	s := start(t, db, cfg)

	admin := func(path string) (int, string) {
		c := http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get("http://" + s.srv.AdminAddr() + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, err := s.get(t.Context(), http.DefaultClient, "webpages_webpage?select=id")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	s.srv.Reload(t.Context())

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
	assert.NotContains(t, body, "select=")
	code, _ = admin("/healthz")
	assert.Equal(t, http.StatusOK, code)
	code, body = admin("/readyz")
	assert.Equal(t, http.StatusOK, code, body)
	code, _ = admin("/nothing")
	assert.Equal(t, http.StatusNotFound, code)

	// An in-flight request (its body half sent, the handler reading it) keeps Shutdown waiting: the server is
	// draining, and /readyz says so.
	conn, err := net.Dial("tcp", s.srv.Addr())
	require.NoError(t, err)
	defer conn.Close()
	payload := `{"slug":"drain","name":"Drained"}`
	_, err = fmt.Fprintf(conn, "POST /api/v1/content_namespace HTTP/1.1\r\nHost: x\r\nAuthorization: Token %s\r\n"+
		"X-Tenant-ID: acme\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", s.token, len(payload),
		payload[:5])
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond) // let the handler start reading the body
	s.cancel()
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
	assert.NoError(t, s.stopped(t))
	code, _ = admin("/healthz")
	assert.Zero(t, code, "the admin listener is closed after shutdown")
}

// TestServer_PgBouncer serves through PgBouncer in transaction mode with the exec mode exec, and LISTENs on
// ListenURL, PostgreSQL directly: a tenant deactivated in the registry is refused within seconds, long before the
// registry cache's TTL, so NOTIFY got through.
func TestServer_PgBouncer(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	cfg := config(t, db)
	login := cfg.DatabaseURL
	pgb := pgbouncer.New(t, login)
	cfg.DatabaseURL, cfg.ListenURL = pgb.URL(login), login
	cfg.ExecMode = pgx.QueryExecModeExec
	cfg.Tenant.TTL = time.Hour
	s := start(t, db, cfg)
	for range 50 {
		code, err := s.get(t.Context(), http.DefaultClient, "webpages_webpage?limit=5")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code)
	}
	_, err := db.Owner.Exec(t.Context(), "UPDATE pgtenant.tenants SET is_active = false WHERE identifier = 'acme'")
	require.NoError(t, err)
	assert.Eventually(t, func() bool {
		code, err := s.get(t.Context(), http.DefaultClient, "webpages_webpage?limit=5")
		return err == nil && code == http.StatusForbidden
	}, 5*time.Second, 20*time.Millisecond, "the deactivation reached the server by NOTIFY")
}

// TestServer_DrainOnShutdown stops the server (as SIGTERM does, through the context of Wait) while 16 clients send
// requests back to back: every request the server accepted must complete with a non-5xx status, and the others
// must have been refused at connect.
func TestServer_DrainOnShutdown(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := start(t, db, config(t, db))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}

	var (
		ok, refused, unread, completedAfter atomic.Int64
		stopped                             atomic.Bool
		wg                                  sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for range 16 {
		wg.Go(func() {
			for ctx.Err() == nil {
				code, answering, err := s.getTraced(ctx, client, "webpages_webpage?limit=5")
				switch {
				case errors.Is(err, syscall.ECONNREFUSED):
					refused.Add(1)
					if stopped.Load() {
						return
					}
				case err != nil && !answering && stopped.Load():
					// Never read by the server: sent on a keep-alive connection Shutdown closed as idle, or
					// still in the listener's backlog when it closed (the kernel resets those). Not in flight.
					unread.Add(1)
					return
				case err != nil:
					t.Errorf("a request was lost: %v", err)
					return
				case code >= 500:
					t.Errorf("status %d during shutdown", code)
				default:
					ok.Add(1)
					if stopped.Load() {
						completedAfter.Add(1)
					}
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	stopped.Store(true)
	s.cancel()
	assert.NoError(t, s.stopped(t))
	wg.Wait()
	t.Logf("%d requests answered (%d after shutdown began), %d refused at connect, %d closed unread", ok.Load(),
		completedAfter.Load(), refused.Load(), unread.Load())
	assert.Positive(t, refused.Load()+unread.Load(), "the listener closed")
}
