package httpapi_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/httpapi"
	"pgtenant/schema"
)

// series is one gathered sample: its labels and value.
type series struct {
	labels map[string]string
	value  float64
}

// gather returns every series of reg by metric name.
func gather(t *testing.T, reg prometheus.Gatherer) map[string][]series {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string][]series{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			s := series{labels: map[string]string{}}
			for _, lp := range m.GetLabel() {
				s.labels[lp.GetName()] = lp.GetValue()
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				s.value = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				s.value = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				s.value = float64(m.GetHistogram().GetSampleCount())
			}
			out[mf.GetName()] = append(out[mf.GetName()], s)
		}
	}
	return out
}

// find returns the value of the series of name with exactly labels, and
// whether there is one.
func find(all map[string][]series, name string, labels map[string]string) (float64, bool) {
	for _, s := range all[name] {
		if len(s.labels) != len(labels) {
			continue
		}
		match := true
		for k, v := range labels {
			if s.labels[k] != v {
				match = false
			}
		}
		if match {
			return s.value, true
		}
	}
	return 0, false
}

// TestMetrics_AfterTraffic sends real requests (reads, writes, refusals, an
// unknown path, a strange method) and checks the series DESIGN.md §8 asks
// for, their label sets, and that no label value carries a tenant id, an
// identifier, a raw path or a query string (STYLE.md §6).
func TestMetrics_AfterTraffic(t *testing.T) {
	e := newEnv(t)
	s := e.start(t, serverOpts{})
	a := s.acmeApp()
	a.seed(t, "Acme")
	a.get(t, "/webpages_webpage"+q("select", "slug,title", "slug", "eq.home")).requireStatus(t, http.StatusOK)
	s.globexApp().get(t, "/webpages_webpage?limit=1").requireStatus(t, http.StatusOK)
	s.as(s.tokGlobex, "acme").get(t, "/webpages_webpage").requireStatus(t, http.StatusForbidden)
	s.as("", "acme").get(t, "/webpages_webpage").requireStatus(t, http.StatusUnauthorized)
	s.as(s.tokAcme, "not a tenant!").get(t, "/webpages_webpage").requireStatus(t, http.StatusBadRequest)
	a.get(t, "/no_such_table_"+s.acme.ID).requireStatus(t, http.StatusNotFound)
	req, err := http.NewRequest(http.MethodGet, s.ts.URL+"/elsewhere/"+s.acme.ID+"?tenant=acme", nil)
	require.NoError(t, err)
	send(t, s, req).requireStatus(t, http.StatusNotFound)
	req, err = http.NewRequest("BREW", s.ts.URL+basePath+"/webpages_webpage", nil)
	require.NoError(t, err)
	send(t, s, req).requireStatus(t, http.StatusMethodNotAllowed)
	s.api.SchemaReloaded(nil)
	s.api.SchemaReloaded(errors.New("boom"))
	s.api.SchemaReloaded(nil)

	all := gather(t, s.reg)
	table := basePath + "/{table}"
	for _, c := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"pgtenant_http_requests_total", map[string]string{"route": table, "method": "POST", "status": "201"}, 3},
		{"pgtenant_http_requests_total", map[string]string{"route": table, "method": "GET", "status": "200"}, 2},
		{"pgtenant_http_requests_total", map[string]string{"route": table, "method": "GET", "status": "403"}, 1},
		{"pgtenant_http_requests_total", map[string]string{"route": table, "method": "GET", "status": "404"}, 1},
		{"pgtenant_http_requests_total", map[string]string{"route": "unmatched", "method": "GET", "status": "404"}, 1},
		{"pgtenant_http_requests_total", map[string]string{"route": "unmatched", "method": "other", "status": "405"}, 1},
		{"pgtenant_http_request_duration_seconds", map[string]string{"route": table, "method": "GET"}, 5},
		{"pgtenant_tenancy_refusals_total", map[string]string{"reason": "tenant refused"}, 1},
		{"pgtenant_tenancy_refusals_total", map[string]string{"reason": "no credential"}, 1},
		{"pgtenant_tenancy_refusals_total", map[string]string{"reason": "malformed tenant header"}, 1},
		{"pgtenant_schema_reloads_total", map[string]string{"result": "ok"}, 2},
		{"pgtenant_schema_reloads_total", map[string]string{"result": "error"}, 1},
		{"pgtenant_build_info", map[string]string{"version": buildVersion(t, all), "go_version": runtime.Version()}, 1},
		{"pgtenant_ratelimit_rejections_total", map[string]string{}, 0},
		{"pgtenant_pool_acquires_total", map[string]string{}, 1},
		{"pgtenant_pool_acquire_duration_seconds_total", map[string]string{}, 0},
		{"pgtenant_pool_empty_acquires_total", map[string]string{}, 0},
		{"pgtenant_pool_canceled_acquires_total", map[string]string{}, 0},
		{"pgtenant_pool_acquired_connections", map[string]string{}, 0},
		{"pgtenant_pool_idle_connections", map[string]string{}, 0},
		{"pgtenant_pool_total_connections", map[string]string{}, 1},
		{"pgtenant_pool_max_connections", map[string]string{}, 1},
	} {
		v, ok := find(all, c.name, c.labels)
		if assert.True(t, ok, "%s%v is missing; have %v", c.name, c.labels, all[c.name]) {
			assert.GreaterOrEqual(t, v, c.min, "%s%v", c.name, c.labels)
		}
	}
	v, _ := find(all, "pgtenant_schema_reloads_total", map[string]string{"result": "error"})
	assert.Equal(t, 1.0, v)

	allowed := map[string][]string{
		"pgtenant_http_requests_total":           {"method", "route", "status"},
		"pgtenant_http_request_duration_seconds": {"method", "route"},
		"pgtenant_tenancy_refusals_total":        {"reason"},
		"pgtenant_schema_reloads_total":          {"result"},
		"pgtenant_build_info":                    {"go_version", "version"},
	}
	forbidden := []string{s.acme.ID, s.globex.ID, "acme", "globex", "webpages_webpage", "no_such_table", "elsewhere",
		"?", "select=", "slug", "limit", "BREW"}
	for name, ss := range all {
		assert.True(t, strings.HasPrefix(name, "pgtenant_"), "%s: every series is pgtenant_<subsystem>_…", name)
		for _, s := range ss {
			var keys []string
			for k, v := range s.labels {
				keys = append(keys, k)
				for _, bad := range forbidden {
					assert.NotContains(t, v, bad, "%s{%s=%q}: labels must be bounded", name, k, v)
				}
			}
			assert.ElementsMatch(t, allowed[name], keys, "%s: label names", name)
		}
	}

	// The same series, scraped as text through the admin handler.
	admin := httptest.NewServer(s.api.AdminHandler(s.reg))
	defer admin.Close()
	resp, err := http.Get(admin.URL + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, want := range []string{`pgtenant_http_requests_total{method="GET",route="/api/v1/{table}",status="200"}`,
		"pgtenant_http_request_duration_seconds_bucket{", "pgtenant_pool_max_connections ", "pgtenant_build_info{"} {
		assert.Contains(t, string(body), want)
	}
	assert.NotContains(t, string(body), s.acme.ID)
	n, err := testutil.GatherAndCount(s.reg, "pgtenant_ratelimit_rejections_total")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func buildVersion(t *testing.T, all map[string][]series) string {
	t.Helper()
	require.Len(t, all["pgtenant_build_info"], 1)
	v := all["pgtenant_build_info"][0].labels["version"]
	assert.NotEmpty(t, v)
	return v
}

// TestRateLimit_ThrottlesOneTenant: acme spends its bucket and gets 429 with
// Retry-After and the PGT429 body, through the real server, while globex,
// with a bucket of its own, is served.
func TestRateLimit_ThrottlesOneTenant(t *testing.T) {
	e := newEnv(t)
	s := e.start(t, serverOpts{rateLimit: httpapi.RateLimit{RPS: 0.5, Burst: 3}})
	a, g := s.acmeApp(), s.globexApp()
	for i := range 3 {
		a.get(t, "/webpages_webpage").requireStatus(t, http.StatusOK)
		_ = i
	}
	before := s.queries.Load()
	r := a.get(t, "/webpages_webpage")
	r.requireStatus(t, http.StatusTooManyRequests)
	assert.Equal(t, "PGT429", r.error(t).Code)
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", r.Header.Get("Retry-After"))
	assert.True(t, secs >= 1 && secs <= 2, "Retry-After %d: the wait for one token at 0.5/s, rounded up", secs)
	assert.Equal(t, before, s.queries.Load(), "a throttled request sends no query")
	a.do(t, http.MethodPost, "/content_namespace", `{"slug":"x","name":"x"}`).requireStatus(t, http.StatusTooManyRequests)
	assert.Zero(t, e.count(t, "content_namespace", "slug = 'x'"), "a throttled write writes nothing")

	for range 3 {
		g.get(t, "/webpages_webpage").requireStatus(t, http.StatusOK)
	}
	assert.Equal(t, http.StatusTooManyRequests, g.get(t, "/webpages_webpage").Status, "globex has its own bucket")

	all := gather(t, s.reg)
	v, _ := find(all, "pgtenant_ratelimit_rejections_total", map[string]string{})
	assert.Equal(t, 3.0, v)
	v, _ = find(all, "pgtenant_http_requests_total", map[string]string{"route": basePath + "/{table}", "method": "GET",
		"status": "429"})
	assert.Equal(t, 2.0, v)
}

// TestRateLimit_OffByDefault: without a limit nothing is throttled.
func TestRateLimit_OffByDefault(t *testing.T) {
	s := newServer(t)
	a := s.acmeApp()
	for range 30 {
		a.get(t, "/webpages_webpage").requireStatus(t, http.StatusOK)
	}
}

// TestProbes checks /healthz and /readyz on the admin handler: ready while
// the database answers; 503 JSON while draining, once the pool is closed,
// and when the database cannot be reached.
func TestProbes(t *testing.T) {
	s := newServer(t)
	admin := httptest.NewServer(s.api.AdminHandler(s.reg))
	defer admin.Close()
	probe := func(path string) (int, map[string]any) {
		resp, err := http.Get(admin.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		r := response{Status: resp.StatusCode, Header: resp.Header, Body: b}
		assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"))
		return resp.StatusCode, r.object(t)
	}
	code, _ := probe("/healthz")
	assert.Equal(t, http.StatusOK, code)
	code, body := probe("/readyz")
	assert.Equal(t, http.StatusOK, code, "%v", body)

	s.api.SetDraining(true)
	code, body = probe("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "draining", body["status"])
	code, _ = probe("/healthz")
	assert.Equal(t, http.StatusOK, code, "alive while draining")
	s.api.SetDraining(false)
	code, _ = probe("/readyz")
	assert.Equal(t, http.StatusOK, code)

	s.pool.Close()
	code, body = probe("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "unavailable", body["status"])
	code, _ = probe("/healthz")
	assert.Equal(t, http.StatusOK, code)

	// A database nobody listens on: the ping fails within the second.
	cfg, err := pgxpool.ParseConfig("postgres://nobody@127.0.0.1:1/none?connect_timeout=5")
	require.NoError(t, err)
	dead, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	defer dead.Close()
	api := httpapi.New(httpapi.Config{BasePath: basePath, Ping: dead.Ping}, &schema.Model{})
	rec := httptest.NewRecorder()
	start := time.Now()
	api.AdminHandler(prometheus.NewRegistry()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	assert.Less(t, time.Since(start), 2*time.Second)

	// A ping that hangs: /readyz gives up after a second.
	api = httpapi.New(httpapi.Config{BasePath: basePath, Ping: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}}, &schema.Model{})
	rec = httptest.NewRecorder()
	start = time.Now()
	api.AdminHandler(prometheus.NewRegistry()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Less(t, time.Since(start), 1500*time.Millisecond)
}

// TestSlowRequestLog: a request slower than the threshold is logged at warn,
// with the usual fields and slow=true; a fast one stays at info.
func TestSlowRequestLog(t *testing.T) {
	var buf syncBuffer
	e := newEnv(t)
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	slow := e.start(t, serverOpts{logger: logger, slowRequest: time.Nanosecond})
	slow.acmeApp().get(t, "/webpages_webpage").requireStatus(t, http.StatusOK)
	lines := requestLines(buf.lines(t))
	require.Len(t, lines, 1)
	assert.Equal(t, "WARN", lines[0]["level"])
	assert.Equal(t, true, lines[0]["slow"])
	for _, k := range []string{"request_id", "method", "route", "status", "duration_ms", "bytes", "client_ip", "tenant",
		"tenant_identifier", "credential", "role"} {
		assert.Contains(t, lines[0], k)
	}

	fast := e.start(t, serverOpts{logger: logger, slowRequest: time.Hour})
	fast.acmeApp().get(t, "/webpages_webpage").requireStatus(t, http.StatusOK)
	lines = requestLines(buf.lines(t))
	require.Len(t, lines, 1)
	assert.Equal(t, "INFO", lines[0]["level"])
	assert.NotContains(t, lines[0], "slow")
}

func requestLines(all []map[string]any) []map[string]any {
	var out []map[string]any
	for _, l := range all {
		if l["msg"] == "request" {
			out = append(out, l)
		}
	}
	return out
}
