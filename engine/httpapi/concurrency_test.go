package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Size of TestConcurrentIsolation: workers per tenant, requests per worker.
const (
	concurrentWorkers  = 32
	concurrentRequests = 2000
)

// TestConcurrentIsolation hammers a server whose pool has two connections
// with mixed reads and writes from two tenants at once, so that every
// pooled connection serves both tenants in turn. Every row of every
// response must be the caller's tenant's, including when a request aims at
// the other tenant's rows on purpose, and nothing may fail with a 5xx.
//
// The full size runs without -race (make test runs it once so); under
// -race or -short it runs a tenth of it.
func TestConcurrentIsolation(t *testing.T) {
	perWorker := concurrentRequests
	if testing.Short() || raceEnabled {
		perWorker /= 10
	}
	e := newEnv(t)
	runConcurrentIsolation(t, e.start(t, serverOpts{maxConns: 2}), 2, perWorker)
}

// runConcurrentIsolation is the body of TestConcurrentIsolation, against s,
// whose pool has at most maxConns connections: perWorker requests from each
// of concurrentWorkers workers per tenant.
func runConcurrentIsolation(t *testing.T, s *server, maxConns int32, perWorker int) {

	type tenantRun struct {
		c     client
		id    string
		ns    string
		other *tenantRun
		fixed []string // the seeded pages, never deleted
		// ids are every page this tenant made, for the other tenant to aim
		// at.
		mu  sync.Mutex
		ids []string
	}
	acme := &tenantRun{c: s.acmeApp(), id: s.acme.ID}
	globex := &tenantRun{c: s.globexApp(), id: s.globex.ID}
	acme.other, globex.other = globex, acme
	for _, tr := range []*tenantRun{acme, globex} {
		site := tr.c.seed(t, "T")
		tr.ns = site.namespace
		for _, id := range site.pages {
			tr.fixed = append(tr.fixed, id)
		}
		tr.ids = append(tr.ids, tr.fixed...)
	}
	pick := func(tr *tenantRun, rng *rand.Rand) string {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return tr.ids[rng.IntN(len(tr.ids))]
	}

	var (
		requests, failures atomic.Int64
		statuses           sync.Map // status → *atomic.Int64
	)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 20 {
			t.Errorf(format, args...)
		}
	}

	// check decodes a JSON array (or, singular, one object) and checks that
	// every row is tenant's; it returns the rows.
	check := func(tr *tenantRun, what string, r response, singular bool) []map[string]any {
		var rows []map[string]any
		if singular {
			var one map[string]any
			if err := json.Unmarshal(r.Body, &one); err != nil {
				fail("%s: %v in %s", what, err, r.Body)
				return nil
			}
			rows = []map[string]any{one}
		} else if err := json.Unmarshal(r.Body, &rows); err != nil {
			fail("%s: %v in %s", what, err, r.Body)
			return nil
		}
		for _, row := range rows {
			if row["tenant_id"] != tr.id {
				fail("%s as %s: a row of another tenant: %v", what, tr.c.tenant, row)
			}
		}
		return rows
	}

	worker := func(tr *tenantRun, w int) {
		rng := rand.New(rand.NewPCG(uint64(w), uint64(len(tr.id))))
		var mine []string // pages this worker made and has not deleted
		for i := range perWorker {
			if ctx.Err() != nil || failures.Load() > 20 {
				return
			}
			var (
				what     string
				r        response
				err      error
				want     int
				singular bool
			)
			switch op := rng.IntN(10); {
			case op < 3 || (op >= 7 && len(mine) == 0):
				what, want = "GET list", 200
				r, err = tr.c.try(ctx, http.MethodGet, "/webpages_webpage"+q("select", "id,tenant_id,slug",
					"order", "id", "limit", "20"), "")
			case op == 3:
				what, want = "GET the other tenant's page", 200
				r, err = tr.c.try(ctx, http.MethodGet, "/webpages_webpage"+q("id", "eq."+pick(tr.other, rng)), "")
			case op == 4:
				what, want, singular = "GET single", 200, true
				r, err = tr.c.try(ctx, http.MethodGet, "/webpages_webpage"+q("id", "eq."+tr.fixed[rng.IntN(len(tr.fixed))],
					"select", "id,tenant_id,title"), "", acceptObject)
			case op == 5 || op == 6:
				what, want = "POST", 201
				body := fmt.Sprintf(`{"namespace_id":%q,"slug":"w%d-%d","title":"t"}`, tr.ns, w, i)
				r, err = tr.c.try(ctx, http.MethodPost, "/webpages_webpage"+q("select", "id,tenant_id"), body, preferRepr)
			case op == 7:
				what, want = "PATCH by pk", 200
				r, err = tr.c.try(ctx, http.MethodPatch, "/webpages_webpage"+q("id", "eq."+mine[rng.IntN(len(mine))],
					"select", "id,tenant_id,title"), fmt.Sprintf(`{"title":"p%d"}`, i), preferRepr)
			case op == 8:
				what, want = "PATCH the other tenant's page", 200
				r, err = tr.c.try(ctx, http.MethodPatch, "/webpages_webpage"+q("id", "eq."+pick(tr.other, rng)),
					`{"title":"stolen"}`, preferRepr)
			default:
				what, want = "DELETE by pk", 200
				k := rng.IntN(len(mine))
				r, err = tr.c.try(ctx, http.MethodDelete, "/webpages_webpage"+q("id", "eq."+mine[k],
					"select", "id,tenant_id"), "", preferRepr)
				mine = append(mine[:k], mine[k+1:]...)
			}
			requests.Add(1)
			if err != nil {
				fail("%s as %s: %v", what, tr.c.tenant, err)
				continue
			}
			n, _ := statuses.LoadOrStore(r.Status, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
			if r.Status != want {
				fail("%s as %s: status %d, want %d: %s", what, tr.c.tenant, r.Status, want, r.Body)
				continue
			}
			rows := check(tr, what, r, singular)
			switch what {
			case "POST":
				for _, row := range rows {
					mine = append(mine, row["id"].(string))
					tr.mu.Lock()
					tr.ids = append(tr.ids, row["id"].(string))
					tr.mu.Unlock()
				}
			case "GET the other tenant's page", "PATCH the other tenant's page":
				if len(rows) != 0 {
					fail("%s as %s: %d rows", what, tr.c.tenant, len(rows))
				}
			case "PATCH by pk", "DELETE by pk", "GET single":
				if len(rows) != 1 {
					fail("%s as %s: %d rows, want 1", what, tr.c.tenant, len(rows))
				}
			}
		}
	}

	start := time.Now()
	var wg sync.WaitGroup
	for _, tr := range []*tenantRun{acme, globex} {
		for w := range concurrentWorkers {
			wg.Go(func() { worker(tr, w) })
		}
	}
	wg.Wait()
	elapsed := time.Since(start)

	var counts []string
	statuses.Range(func(k, v any) bool {
		counts = append(counts, fmt.Sprintf("%d×%d", v.(*atomic.Int64).Load(), k.(int)))
		return true
	})
	t.Logf("%d requests (%d workers × 2 tenants × %d) in %s: %.0f requests/s; statuses %v; pool: %d connections",
		requests.Load(), concurrentWorkers, perWorker, elapsed.Round(time.Millisecond),
		float64(requests.Load())/elapsed.Seconds(), counts, s.pool.Stat().TotalConns())
	require.NoError(t, ctx.Err(), "the run took too long")
	assert.Equal(t, int64(2*concurrentWorkers*perWorker), requests.Load(), "every request was sent")
	assert.LessOrEqual(t, s.pool.Stat().TotalConns(), maxConns)

	// Afterwards, as the superuser: every page is in its own tenant's
	// namespace, and the other tenant's pages were never renamed.
	assert.Zero(t, s.count(t, "webpages_webpage", "title = 'stolen'"))
	var misplaced int
	require.NoError(t, s.admin.QueryRow(t.Context(), `SELECT count(*) FROM webpages_webpage p WHERE NOT EXISTS
		(SELECT 1 FROM content_namespace n WHERE n.id = p.namespace_id AND n.tenant_id = p.tenant_id)`).Scan(&misplaced))
	assert.Zero(t, misplaced)
}
