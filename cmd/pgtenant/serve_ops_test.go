package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/registry"
	"pgtenant/internal/pgbouncer"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

// served is a server started in-process by startServer, with a token for
// tenant acme.
type served struct {
	srv    *running
	token  string
	db     *pgtest.DB
	cancel context.CancelFunc
	done   chan int // wait's exit code
}

// serveTest starts the server with cfg (DATABASE_URL from login when empty)
// on a loopback port, serving until t ends or cancel is called.
func serveTest(t *testing.T, db *pgtest.DB, cfg Config) *served {
	t.Helper()
	declared, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors())
	tn, err := registry.CreateTenant(t.Context(), db.Owner, "acme", "Acme", "test")
	require.NoError(t, err)
	token, _, err := registry.CreateToken(t.Context(), db.Owner, "t", "app", []string{tn.ID})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	srv, err := startServer(ctx, cfg, declared, slog.New(slog.DiscardHandler), ln)
	require.NoError(t, err)
	s := &served{srv: srv, token: token, db: db, cancel: cancel, done: make(chan int, 1)}
	go func() { s.done <- srv.wait(ctx, &env{stdout: io.Discard, stderr: io.Discard}) }()
	t.Cleanup(func() {
		cancel()
		<-s.done
		srv.close()
	})
	return s
}

// get sends GET /api/v1/webpages_webpage as acme.
func (s *served) get(ctx context.Context, c *http.Client) (int, error) {
	code, _, err := s.getTraced(ctx, c)
	return code, err
}

// getTraced is get, and also says whether the server began to answer: a request it never read (a keep-alive
// connection it closed as idle, or one still in the listener's backlog when the listener closed) fails without a
// byte of response.
func (s *served) getTraced(ctx context.Context, c *http.Client) (code int, answering bool, err error) {
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotFirstResponseByte: func() { answering = true }})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		fmt.Sprintf("http://%s/api/v1/webpages_webpage?limit=5", s.srv.addr), nil)
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

// TestServe_PgBouncer serves through PgBouncer in transaction mode with
// DB_EXEC_MODE=exec, and LISTENs on DATABASE_LISTEN_URL, PostgreSQL
// directly: a tenant deactivated in the registry is refused within
// seconds, long before REGISTRY_CACHE_TTL, so NOTIFY got through.
func TestServe_PgBouncer(t *testing.T) {
	db := pgtest.New(t)
	login := db.LoginURL(t, "app", "reader")
	pgb := pgbouncer.New(t, login)
	cfg := DefaultConfig()
	cfg.DatabaseURL = pgb.URL(login)
	cfg.DatabaseListenURL = login
	cfg.ExecMode = "exec"
	cfg.CacheTTL = time.Hour
	require.Empty(t, cfg.Validate())
	s := serveTest(t, db, cfg)
	for range 50 {
		code, err := s.get(t.Context(), http.DefaultClient)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code)
	}
	_, err := db.Owner.Exec(t.Context(), "UPDATE pgtenant.tenants SET is_active = false WHERE identifier = 'acme'")
	require.NoError(t, err)
	assert.Eventually(t, func() bool {
		code, err := s.get(t.Context(), http.DefaultClient)
		return err == nil && code == http.StatusForbidden
	}, 5*time.Second, 20*time.Millisecond, "the deactivation reached the server by NOTIFY")
}

// TestServe_ExecModeSetting checks DB_EXEC_MODE's values.
func TestServe_ExecModeSetting(t *testing.T) {
	for _, tt := range []struct {
		in      string
		wantErr bool
	}{
		{"", false}, {"cache_statement", false}, {"cache_describe", false}, {"describe_exec", false},
		{"exec", false}, {"simple_protocol", false}, {"prepared", true}, {"EXEC", true},
	} {
		_, err := parseExecMode(tt.in)
		assert.Equal(t, tt.wantErr, err != nil, "%q: %v", tt.in, err)
		cfg := DefaultConfig()
		cfg.ExecMode = tt.in
		assert.Equal(t, tt.wantErr, len(cfg.Validate()) > 0, "%q", tt.in)
	}
}

// TestServe_DrainOnShutdown stops the server (as SIGTERM does, through the
// context of run) while 16 clients send requests back to back: every
// request the server accepted must complete with a non-5xx status, and the
// others must have been refused at connect.
func TestServe_DrainOnShutdown(t *testing.T) {
	db := pgtest.New(t)
	cfg := DefaultConfig()
	cfg.DatabaseURL = db.LoginURL(t, "app", "reader")
	s := serveTest(t, db, cfg)
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
				code, answering, err := s.getTraced(ctx, client)
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
	select {
	case code := <-s.done:
		s.done <- code // for the cleanup
		assert.Equal(t, exitOK, code)
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not drain within 20 s")
	}
	wg.Wait()
	t.Logf("%d requests answered (%d after shutdown began), %d refused at connect, %d closed unread", ok.Load(),
		completedAfter.Load(), refused.Load(), unread.Load())
	assert.Positive(t, refused.Load()+unread.Load(), "the listener closed")
}
