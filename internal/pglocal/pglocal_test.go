package pglocal_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/internal/pglocal"
)

// start starts a throwaway cluster in a fresh directory, or skips the test when PostgreSQL is not installed (and
// fails it when PGTEST_REQUIRED=1). The server is stopped at the end of the test.
func start(t *testing.T, dir string) *pglocal.Server {
	t.Helper()
	srv, reused, err := pglocal.Start(t.Context(), pglocal.Options{Dir: dir})
	if errors.Is(err, pglocal.ErrNoBinaries) && os.Getenv("PGTEST_REQUIRED") != "1" {
		t.Skip(err)
	}
	require.NoError(t, err)
	require.False(t, reused, "a fresh directory cannot hold a running server")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		assert.NoError(t, srv.Stop(ctx))
	})
	return srv
}

func query(t *testing.T, url, sql string) string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var s string
	require.NoError(t, conn.QueryRow(t.Context(), sql).Scan(&s))
	return s
}

func TestStart_ConnectStop(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cluster")
	begin := time.Now()
	srv := start(t, dir)
	t.Logf("initdb + start: %s", time.Since(begin))

	assert.Equal(t, dir, srv.Dir)
	assert.NotZero(t, srv.Port)
	assert.NotEmpty(t, srv.Password)
	assert.Equal(t, "on", query(t, srv.URL("postgres"), "SELECT current_setting('is_superuser')"))
	assert.Equal(t, "127.0.0.1", query(t, srv.URL("postgres"), "SELECT current_setting('listen_addresses')"))
	assert.Equal(t, "off", query(t, srv.URL("postgres"), "SELECT current_setting('fsync')"))
	assert.Equal(t, "UTF8", query(t, srv.URL("postgres"), "SELECT current_setting('server_encoding')"))

	info, err := os.Stat(filepath.Join(dir, "password"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	_, err = pgx.Connect(t.Context(), "postgres://pgtenant_admin:wrong@127.0.0.1:"+
		strconv.Itoa(srv.Port)+"/postgres?sslmode=disable")
	assert.Error(t, err, "password authentication must be on")

	require.NoError(t, srv.Stop(t.Context()))
	_, err = pgx.Connect(t.Context(), srv.URL("postgres"))
	assert.Error(t, err, "the server is stopped")
	require.NoError(t, srv.Stop(t.Context()), "stopping a stopped server is not an error")
}

func TestStart_Reuse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cluster")
	first := start(t, dir)

	second, reused, err := pglocal.Start(t.Context(), pglocal.Options{Dir: dir})
	require.NoError(t, err)
	assert.True(t, reused, "the server is running")
	assert.Equal(t, first.Port, second.Port)
	assert.Equal(t, first.Password, second.Password)

	_, _, err = pglocal.Start(t.Context(), pglocal.Options{Dir: dir, Port: first.Port + 1})
	assert.Error(t, err, "a running server cannot move to another port")

	require.NoError(t, first.Stop(t.Context()))
	begin := time.Now()
	third, reused, err := pglocal.Start(t.Context(), pglocal.Options{Dir: dir})
	require.NoError(t, err)
	t.Logf("start of a stopped cluster: %s", time.Since(begin))
	assert.False(t, reused, "the server was stopped")
	assert.Equal(t, first.Port, third.Port, "a restarted cluster keeps its port")
	assert.Equal(t, "1", query(t, third.URL("postgres"), "SELECT '1'"))
}

func TestStart_Durable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cluster")
	srv := start(t, dir)
	require.NoError(t, srv.Stop(t.Context()))

	srv, reused, err := pglocal.Start(t.Context(), pglocal.Options{Dir: dir, Durable: true})
	require.NoError(t, err)
	assert.False(t, reused)
	assert.Equal(t, "on", query(t, srv.URL("postgres"), "SELECT current_setting('fsync')"))
	assert.Equal(t, "on", query(t, srv.URL("postgres"), "SELECT current_setting('full_page_writes')"))
}

func TestStart_NoDir(t *testing.T) {
	_, _, err := pglocal.Start(t.Context(), pglocal.Options{})
	assert.Error(t, err)
}
