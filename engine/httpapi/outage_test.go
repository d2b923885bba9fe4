package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/internal/pgbouncer"
)

// TestOutage_PgBouncer cuts the database off under load by stopping the
// PgBouncer in front of it (every server and client connection closes, new
// ones are refused, as in a PostgreSQL restart) and starting it again 2 s
// later. While it is down every answer must be 503 JSON PGT503 with
// Retry-After, given within a second; the service must answer 200 again
// within 5 s of the database coming back, without a restart; and no
// response may ever carry a row of another tenant.
func TestOutage_PgBouncer(t *testing.T) {
	e := newEnv(t)
	pgb := pgbouncer.New(t, e.url)
	s := e.start(t, serverOpts{maxConns: 4, poolURL: pgb.URL(e.url), execMode: pgx.QueryExecModeExec})
	acme, globex := s.acmeApp(), s.globexApp()
	acme.seed(t, "A")
	globex.seed(t, "G")

	var (
		down, up      atomic.Int64 // UnixNano of the stop and of the restart; 0 before
		firstOK       atomic.Int64 // UnixNano of the first 200 after up
		slowest503    atomic.Int64
		mu            sync.Mutex
		statuses      = map[int]int{}
		failures      atomic.Int64
		during, after atomic.Int64 // responses while down, and after up
	)
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 20 {
			t.Errorf(format, args...)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range []client{acme, globex} {
		id := s.acme.ID
		if c.tenant == "globex" {
			id = s.globex.ID
		}
		for range 4 {
			wg.Go(func() {
				for ctx.Err() == nil {
					begin := time.Now()
					r, err := c.try(ctx, http.MethodGet, "/webpages_webpage"+q("select", "id,tenant_id", "limit", "10"), "")
					if ctx.Err() != nil {
						return
					}
					if err != nil {
						fail("GET as %s: %v", c.tenant, err)
						continue
					}
					mu.Lock()
					statuses[r.Status]++
					mu.Unlock()
					if d, u := down.Load(), up.Load(); d != 0 && begin.UnixNano() > d && (u == 0 || begin.UnixNano() < u) {
						during.Add(1)
					} else if u != 0 && begin.UnixNano() > u {
						after.Add(1)
					}
					switch r.Status {
					case http.StatusOK:
						var rows []map[string]any
						if err := json.Unmarshal(r.Body, &rows); err != nil {
							fail("GET as %s: %v in %s", c.tenant, err, r.Body)
						}
						for _, row := range rows {
							if row["tenant_id"] != id {
								fail("GET as %s: a row of another tenant: %v", c.tenant, row)
							}
						}
						if u := up.Load(); u != 0 && begin.UnixNano() > u {
							firstOK.CompareAndSwap(0, time.Now().UnixNano())
						}
					case http.StatusServiceUnavailable:
						var body apiError
						if err := json.Unmarshal(r.Body, &body); err != nil || body.Code != "PGT503" {
							fail("GET as %s: 503 body %s", c.tenant, r.Body)
						}
						if r.Header.Get("Retry-After") == "" {
							fail("GET as %s: 503 without Retry-After", c.tenant)
						}
						took := int64(time.Since(begin))
						for {
							old := slowest503.Load()
							if took <= old || slowest503.CompareAndSwap(old, took) {
								break
							}
						}
					default:
						fail("GET as %s: status %d: %s", c.tenant, r.Status, r.Body)
					}
					time.Sleep(5 * time.Millisecond)
				}
			})
		}
	}

	time.Sleep(500 * time.Millisecond)
	down.Store(time.Now().UnixNano())
	require.NoError(t, pgb.Stop())
	time.Sleep(2 * time.Second)
	require.NoError(t, pgb.Restart(t.Context()))
	back := time.Now()
	up.Store(back.UnixNano())
	for firstOK.Load() == 0 && time.Since(back) < 10*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	wg.Wait()

	recovery := time.Duration(firstOK.Load() - back.UnixNano())
	t.Logf("statuses %v; %d responses while down, %d after; slowest 503 %s; first 200 %s after PgBouncer was back",
		statuses, during.Load(), after.Load(), time.Duration(slowest503.Load()).Round(time.Millisecond),
		recovery.Round(time.Millisecond))
	require.NotZero(t, firstOK.Load(), "no 200 within 10 s of the database coming back")
	assert.Less(t, recovery, 5*time.Second, "recovery after the database came back")
	assert.Positive(t, during.Load(), "requests were answered while the database was down")
	assert.Less(t, time.Duration(slowest503.Load()), time.Second, "503s come fast")
}
