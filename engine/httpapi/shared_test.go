package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedLookup_CallerGoesAway: requests that need the same registry
// lookup (a token, the tenant directory) share it. Acme's request starts the
// lookup, which the test holds on a lock in PostgreSQL; a second request
// joins it; then acme's client goes away. The lookup must go on for the
// request that joined, which is answered 200 once the lock is released,
// never 499 for a disconnect that was not its own.
func TestSharedLookup_CallerGoesAway(t *testing.T) {
	for _, tt := range []struct {
		name   string
		lock   string // SQL run by the superuser in a transaction held open
		lookup string // the registry function that waits on it
		second func(s *server) client
	}{
		{"token", `SELECT 1 FROM pgtenant.tokens WHERE name = 'acme' FOR UPDATE`, "lookup_token",
			func(s *server) client { return s.acmeApp() }},
		{"tenant directory", `LOCK TABLE pgtenant.tenants IN ACCESS EXCLUSIVE MODE`, "tenant_directory",
			func(s *server) client { return s.globexApp() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t) // cold caches: the first requests look everything up
			lock, err := s.admin.Begin(t.Context())
			require.NoError(t, err)
			defer lock.Rollback(context.WithoutCancel(t.Context())) //nolint:errcheck // released below
			_, err = lock.Exec(t.Context(), tt.lock)
			require.NoError(t, err)
			waiting := func() int {
				var n int
				require.NoError(t, s.admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%'||$1||'%'`,
					tt.lookup).Scan(&n))
				return n
			}

			ctxA, cancelA := context.WithCancel(t.Context())
			defer cancelA()
			a := make(chan error, 1)
			go func() { _, err := s.acmeApp().try(ctxA, http.MethodGet, "/webpages_webpage", ""); a <- err }()
			require.Eventually(t, func() bool { return waiting() == 1 }, 5*time.Second, 10*time.Millisecond,
				"acme's lookup waits on the lock")
			b := make(chan response, 1)
			go func() {
				r, err := tt.second(s).try(t.Context(), http.MethodGet, "/webpages_webpage", "")
				assert.NoError(t, err)
				b <- r
			}()
			time.Sleep(200 * time.Millisecond) // the second request joins the lookup
			assert.Equal(t, 1, waiting(), "one lookup, shared")

			cancelA()
			require.Error(t, <-a)
			select {
			case r := <-b:
				t.Fatalf("the request that joined ended with the one that went away: %d %s", r.Status, r.Body)
			case <-time.After(300 * time.Millisecond):
			}
			require.NoError(t, lock.Rollback(t.Context()))
			select {
			case r := <-b:
				r.requireStatus(t, http.StatusOK)
			case <-time.After(10 * time.Second):
				t.Fatal("the request that joined was never answered")
			}
			assert.Zero(t, requestsWithStatus(t, s.reg, "504"))
		})
	}
}
