package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/internal/pgbouncer"
)

// Issue 5's outage contract, checked by the tests below.
const (
	outageDown     = 2 * time.Second        // how long the database stays away
	outageRecovery = 5 * time.Second        // the service answers 200 again within this of the database coming back
	outageGiveUp   = 15 * time.Second       // how long to wait for a recovery before giving up on it
	outageWarmUp   = 500 * time.Millisecond // load before the cut

	// A 503 comes at once rather than after waiting for the database: 9 in 10
	// within outageFast503 and none later than outageSlow503, so that the
	// hiccups of a loaded 2-core machine under -race (seen: a p99 of 970 ms
	// at a load average of 12) do not fail the test, while requests that hang
	// while the database is away (all of them would) do.
	outageFast503 = time.Second
	outageSlow503 = 3 * time.Second
)

// TestOutage_PgBouncer cuts the database off under load by stopping the
// PgBouncer in front of it (every server and client connection closes, new
// ones are refused) and starting it again 2 s later. TestOutage_PostgresRestart
// (restart_test.go) does the same with PostgreSQL itself.
func TestOutage_PgBouncer(t *testing.T) {
	e := newEnv(t)
	pgb := pgbouncer.New(t, e.url)
	s := e.start(t, serverOpts{maxConns: 4, poolURL: pgb.URL(e.url), execMode: pgx.QueryExecModeExec})
	s.acmeApp().seed(t, "A")
	s.globexApp().seed(t, "G")
	rep := underOutage(t, s,
		func(context.Context) error { return pgb.Stop() },
		pgb.Restart)
	rep.check(t, "PgBouncer")
	if t.Failed() {
		t.Logf("pgbouncer log:\n%s", pgb.Log())
	}
}

// outageReport is what underOutage measured.
type outageReport struct {
	statuses   map[int]int   // every answer, by status
	during     int64         // answers to requests sent and answered while the database was away
	after      int64         // answers to requests sent once it was back
	slowest503 time.Duration // the slowest 503 answer, from sending to the end of its body
	p90503     time.Duration // the 90th percentile of the 503 answers' times
	recovery   time.Duration // from the database coming back to the first 200 of a request sent after; 0: none
	readyDown  int64         // /readyz answers 503 while the database was away
	readyBack  time.Duration // from the database coming back to the first /readyz 200; 0: none
}

// outageClock is when underOutage cut the database off and brought it back.
type outageClock struct {
	cut, down, restart, back atomic.Int64 // UnixNano: stop called and returned, start called and returned
}

// away reports whether [begin, end] lies wholly while the database was
// stopped: after stop returned and before start was called.
func (c *outageClock) away(begin, end time.Time) bool {
	d, r := c.down.Load(), c.restart.Load()
	return d != 0 && begin.UnixNano() > d && (r == 0 || end.UnixNano() < r)
}

// since returns how long after the database came back t is, and false if t
// is not after it.
func (c *outageClock) since(t time.Time) (time.Duration, bool) {
	b := c.back.Load()
	if b == 0 || t.UnixNano() <= b {
		return 0, false
	}
	return time.Duration(t.UnixNano() - b), true
}

// underOutage loads s with acme's and globex's reads and writes (four
// readers and one writer each; seed their pages first) and polls /readyz. It
// calls stop after a warm-up, keeps the database away for outageDown, calls
// start (which must return once the database accepts connections again) and
// waits for the service to answer 200 again. It checks every answer as it
// comes: a 200 or 201 carries only the caller's tenant's rows; anything else
// is 503 JSON PGT503 with Retry-After; nothing is answered 200 while the
// database is away, not even /readyz. check then asserts the timings.
func underOutage(t *testing.T, s *server, stop, start func(context.Context) error) outageReport {
	t.Helper()
	acme, globex := s.acmeApp(), s.globexApp()
	admin := httptest.NewServer(s.api.AdminHandler(s.reg))
	t.Cleanup(admin.Close)

	var (
		clock      outageClock
		firstOK    atomic.Int64    // UnixNano of the first 200 of a request sent after back
		firstReady atomic.Int64    // UnixNano of the first /readyz 200 of a probe sent after back
		took503    []time.Duration // under mu
		during     atomic.Int64
		after      atomic.Int64
		readyDown  atomic.Int64
		mu         sync.Mutex
		statuses   = map[int]int{}
		failures   atomic.Int64
		writes     atomic.Int64
		run        = time.Now().UnixNano() // slugs stay unique when one env goes through several outages
	)
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 20 {
			t.Errorf(format, args...)
		}
	}
	// check checks one answer to c and counts it.
	check := func(c client, id, what string, begin time.Time, r response) {
		end := time.Now()
		mu.Lock()
		statuses[r.Status]++
		mu.Unlock()
		away := clock.away(begin, end)
		if away {
			during.Add(1)
		}
		if _, ok := clock.since(begin); ok {
			after.Add(1)
		}
		switch r.Status {
		case http.StatusOK, http.StatusCreated:
			if away {
				fail("%s as %s: %d while the database was away: %s", what, c.tenant, r.Status, r.Body)
			}
			var rows []map[string]any
			if err := json.Unmarshal(r.Body, &rows); err != nil {
				fail("%s as %s: %v in %s", what, c.tenant, err, r.Body)
			}
			for _, row := range rows {
				if row["tenant_id"] != id {
					fail("%s as %s: a row of another tenant: %v", what, c.tenant, row)
				}
			}
			if r.Status == http.StatusOK {
				if _, ok := clock.since(begin); ok {
					firstOK.CompareAndSwap(0, end.UnixNano())
				}
			}
		case http.StatusServiceUnavailable:
			var body apiError
			if err := json.Unmarshal(r.Body, &body); err != nil || body.Code != "PGT503" {
				fail("%s as %s: 503 body %s", what, c.tenant, r.Body)
			}
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				fail("%s as %s: 503 with Content-Type %q", what, c.tenant, r.Header.Get("Content-Type"))
			}
			if r.Header.Get("Retry-After") == "" {
				fail("%s as %s: 503 without Retry-After", what, c.tenant)
			}
			mu.Lock()
			took503 = append(took503, end.Sub(begin))
			mu.Unlock()
		default:
			fail("%s as %s: status %d: %s", what, c.tenant, r.Status, r.Body)
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer wg.Wait() // deferred first, so it runs after cancel: no goroutine logs after the test ends
	defer cancel()
	for _, c := range []client{acme, globex} {
		id := s.acme.ID
		if c.tenant == "globex" {
			id = s.globex.ID
		}
		for range 4 {
			wg.Go(func() {
				for ctx.Err() == nil {
					begin := time.Now()
					r, err := c.try(ctx, http.MethodGet, "/webpages_webpage"+q("select", "id,tenant_id,title", "limit", "10"), "")
					if ctx.Err() != nil {
						return
					}
					if err != nil {
						fail("GET as %s: %v", c.tenant, err)
						continue
					}
					check(c, id, "GET", begin, r)
					time.Sleep(5 * time.Millisecond)
				}
			})
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				begin := time.Now()
				body := fmt.Sprintf(`{"slug":"outage-%d-%d","name":"written under load"}`, run, writes.Add(1))
				r, err := c.try(ctx, http.MethodPost, "/content_namespace", body, "Prefer: return=representation")
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					fail("POST as %s: %v", c.tenant, err)
					continue
				}
				check(c, id, "POST", begin, r)
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	wg.Go(func() {
		probe := &http.Client{Timeout: 5 * time.Second}
		for ctx.Err() == nil {
			begin := time.Now()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, admin.URL+"/readyz", nil)
			resp, err := probe.Do(req)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				fail("GET /readyz: %v", err)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			end := time.Now()
			switch resp.StatusCode {
			case http.StatusOK:
				if clock.away(begin, end) {
					fail("/readyz answered 200 while the database was away: %s", b)
				}
				if _, ok := clock.since(begin); ok {
					firstReady.CompareAndSwap(0, end.UnixNano())
				}
			case http.StatusServiceUnavailable:
				if !strings.Contains(string(b), `"status":"unavailable"`) || resp.Header.Get("Retry-After") == "" {
					fail("/readyz 503: Retry-After %q, body %s", resp.Header.Get("Retry-After"), b)
				}
				if clock.away(begin, end) {
					readyDown.Add(1)
				}
			default:
				fail("/readyz: status %d: %s", resp.StatusCode, b)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	time.Sleep(outageWarmUp)
	clock.cut.Store(time.Now().UnixNano())
	require.NoError(t, stop(t.Context()), "stop the database")
	clock.down.Store(time.Now().UnixNano())
	t.Logf("the database is down %s after the cut", time.Duration(clock.down.Load()-clock.cut.Load()).Round(time.Millisecond))
	time.Sleep(outageDown)
	clock.restart.Store(time.Now().UnixNano())
	require.NoError(t, start(t.Context()), "start the database")
	back := time.Now()
	clock.back.Store(back.UnixNano())
	t.Logf("the database accepts connections %s after start was called", back.Sub(time.Unix(0, clock.restart.Load())).Round(time.Millisecond))
	for (firstOK.Load() == 0 || firstReady.Load() == 0) && time.Since(back) < outageGiveUp {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // keep checking answers for a while after recovery
	cancel()
	wg.Wait()

	rep := outageReport{statuses: statuses, during: during.Load(), after: after.Load(),
		readyDown: readyDown.Load()}
	if n := len(took503); n > 0 {
		slices.Sort(took503)
		rep.slowest503, rep.p90503 = took503[n-1], took503[n*9/10]
	}
	if ok := firstOK.Load(); ok != 0 {
		rep.recovery = time.Duration(ok - back.UnixNano())
	}
	if ok := firstReady.Load(); ok != 0 {
		rep.readyBack = time.Duration(ok - back.UnixNano())
	}
	return rep
}

// check asserts issue 5's contract on what underOutage measured.
func (rep outageReport) check(t *testing.T, what string) {
	t.Helper()
	t.Logf("%s outage: statuses %v; %d answers while it was away, %d after; 503 in %s (p90), %s (slowest); "+
		"first 200 %s and first /readyz 200 %s after it was back; /readyz 503 %d times while it was away", what,
		rep.statuses, rep.during, rep.after, rep.p90503.Round(time.Millisecond), rep.slowest503.Round(time.Millisecond),
		rep.recovery.Round(time.Millisecond), rep.readyBack.Round(time.Millisecond), rep.readyDown)
	if assert.NotZero(t, rep.recovery, "no 200 within %s of %s coming back", outageGiveUp, what) {
		assert.Less(t, rep.recovery, outageRecovery, "recovery after %s came back", what)
	}
	if assert.NotZero(t, rep.readyBack, "/readyz not 200 within %s of %s coming back", outageGiveUp, what) {
		assert.Less(t, rep.readyBack, outageRecovery, "/readyz after %s came back", what)
	}
	assert.Positive(t, rep.during, "requests were answered while %s was away", what)
	assert.Positive(t, rep.readyDown, "/readyz answered 503 while %s was away", what)
	assert.Less(t, rep.p90503, outageFast503, "503s come at once: the 90th percentile")
	assert.Less(t, rep.slowest503, outageSlow503, "503s come at once: the slowest")
}
