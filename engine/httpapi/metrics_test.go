package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/httpapi"
	"pgtenant/engine/pgtx"
	"pgtenant/engine/tenant"
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
	assert.Less(t, time.Since(start), 3*time.Second, "the 1 s ping timeout bounds it (slack for a loaded machine)")
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

// readmeSection returns the lines of README.md under heading (a whole
// heading line, such as "### Series") up to the next heading.
func readmeSection(t *testing.T, heading string) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	lines := strings.Split(string(b), "\n")
	start := slices.Index(lines, heading)
	require.NotEqual(t, -1, start, "README.md has no %q heading", heading)
	var out []string
	for _, l := range lines[start+1:] {
		if strings.HasPrefix(l, "#") {
			break
		}
		out = append(out, l)
	}
	return out
}

// readmeTable returns the cells of the rows of the first Markdown table in
// lines whose header starts with header ("| series |"), header and
// separator left out.
func readmeTable(t *testing.T, lines []string, header string) [][]string {
	t.Helper()
	start := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, header) })
	require.NotEqual(t, -1, start, "no table with the header %q", header)
	var rows [][]string
	for _, l := range lines[start+2:] {
		if !strings.HasPrefix(l, "|") {
			break
		}
		cells := strings.Split(strings.Trim(l, "|"), " | ")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	require.NotEmpty(t, rows, "the table %q", header)
	return rows
}

var codeSpanRE = regexp.MustCompile("`([^`]+)`")

// codeSpans returns the `code` spans of a Markdown table cell.
func codeSpans(cell string) []string {
	var out []string
	for _, m := range codeSpanRE.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

// readmeStore is a registry of one tenant, acme, and tokens: readmeToken
// for acme, one for another tenant, one with a role no server serves, and
// one whose look-up fails as when the database is down. Enough to resolve
// requests, and refuse them, without a database.
type readmeStore struct{}

const readmeTenant = "00000000-0000-4000-a000-000000000001"

var (
	readmeToken     = madeUpToken("readme")
	readmeOther     = madeUpToken("readme other tenant")
	readmeRole      = madeUpToken("readme unserved role")
	readmeUnhealthy = madeUpToken("readme registry down")
)

func (readmeStore) Tenants(context.Context) ([]tenant.Tenant, error) {
	return []tenant.Tenant{{ID: readmeTenant, Identifier: "acme", Name: "Acme", Active: true}}, nil
}

func (readmeStore) Credential(_ context.Context, hash []byte) (*tenant.Credential, error) {
	is := func(token string) bool { return bytes.Equal(hash, tenant.HashToken(token)) }
	switch {
	case is(readmeToken):
		return &tenant.Credential{ID: "c1", Name: "readme", Role: "app", Tenants: []string{readmeTenant}}, nil
	case is(readmeOther):
		return &tenant.Credential{ID: "c2", Name: "other", Role: "app", Tenants: []string{"00000000-0000-4000-a000-000000000002"}}, nil
	case is(readmeRole):
		return &tenant.Credential{ID: "c3", Name: "unserved", Role: "auditor", Tenants: []string{readmeTenant}}, nil
	case is(readmeUnhealthy):
		return nil, &pgconn.ConnectError{}
	}
	return nil, nil
}

// newReadmeServer is a server without a database: the registry is
// readmeStore, and the pool one that never connects (127.0.0.1:1), so that
// its statistics exist and every query fails at once with 503. Requests: a
// read by acme (503), one refused for each reason readmeStore can give, an
// unknown path, and /readyz (the ping fails), all "slow".
func newReadmeServer(t *testing.T, logger *slog.Logger) *prometheus.Registry {
	t.Helper()
	declared, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors(), "%s", diags)
	dead, err := pgxpool.New(t.Context(), "postgres://nobody:x@127.0.0.1:1/none?connect_timeout=5")
	require.NoError(t, err)
	t.Cleanup(dead.Close)
	reg := prometheus.NewRegistry()
	api := httpapi.New(httpapi.Config{
		Metrics: reg, PoolStats: dead.Stat, Ping: dead.Ping, BasePath: basePath, Tenancy: declared.Tenancy,
		Roles: declared.Roles, Runner: pgtx.New(dead), Logger: logger, SlowRequest: time.Nanosecond,
		Resolver: tenant.NewResolver(readmeStore{}, tenant.Config{Header: declared.Tenancy.Header, Require: true}),
	}, declared)
	for _, c := range []struct {
		token  string
		status int
	}{
		{readmeToken, http.StatusServiceUnavailable}, {"", http.StatusUnauthorized},
		{"not-a-token-of-anyone", http.StatusUnauthorized}, {readmeOther, http.StatusForbidden},
		{readmeRole, http.StatusForbidden}, {readmeUnhealthy, http.StatusServiceUnavailable},
	} {
		req := httptest.NewRequest(http.MethodGet, basePath+"/webpages_webpage", nil)
		req.Header.Set(tenantHeader, "acme")
		if c.token != "" {
			req.Header.Set("Authorization", "Token "+c.token)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		require.Equal(t, c.status, rec.Code, "token %q: %s", c.token, rec.Body)
	}
	api.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/elsewhere", nil))
	rec := httptest.NewRecorder()
	api.AdminHandler(reg).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	return reg
}

// TestREADME_Series checks README "### Series" against the registered
// series, both ways and without a database (issue 5: the README documents
// every metric): every series the server registers has a row with its type
// and exact label names, every row is a registered series, and the values
// of the bounded labels seen here are named in the section.
func TestREADME_Series(t *testing.T) {
	type doc struct {
		typ    string
		labels []string
	}
	section := readmeSection(t, "### Series")
	values := codeSpans(strings.Join(section, "\n")) // the label values the section names
	documented := map[string]doc{}
	for _, row := range readmeTable(t, section, "| series |") {
		require.Len(t, row, 4, "a row of README's series table: %q", row)
		names := codeSpans(row[0])
		require.Len(t, names, 1, "the series cell %q", row[0])
		labels := codeSpans(row[2])
		slices.Sort(labels)
		documented[names[0]] = doc{typ: row[1], labels: labels}
	}

	mfs, err := newReadmeServer(t, nil).Gather()
	require.NoError(t, err)
	registered := map[string]bool{}
	for _, mf := range mfs {
		name := mf.GetName()
		registered[name] = true
		d, ok := documented[name]
		if !assert.True(t, ok, "%s is registered, but README \"### Series\" has no row for it", name) {
			continue
		}
		assert.Equal(t, strings.ToLower(mf.GetType().String()), d.typ, "%s: README's type", name)
		require.NotEmpty(t, mf.GetMetric(), "%s: no series to check the labels of", name)
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName())
				switch lp.GetName() {
				case "route", "method", "reason", "result":
					assert.Contains(t, values, lp.GetValue(), "%s{%s}: README's values", name, lp.GetName())
				}
			}
			slices.Sort(labels)
			assert.Equal(t, d.labels, labels, "%s: README's label names", name)
		}
	}
	for name := range documented {
		assert.True(t, registered[name], "README \"### Series\" lists %s, which the server does not register", name)
	}
	assert.Len(t, registered, 15, "the server's series (update this test and README together)")
}

// TestREADME_LogFields checks README "### The request log" against what the
// server logs, both ways and without a database: every key of a request
// line is in the field table, and every field of the table is written by
// one of the requests of newReadmeServer; every other line is in the table
// of other lines, with exactly its fields.
func TestREADME_LogFields(t *testing.T) {
	section := readmeSection(t, "### The request log")
	fields := map[string]bool{}
	for _, row := range readmeTable(t, section, "| field |") {
		for _, f := range codeSpans(row[0]) {
			fields[f] = true
		}
	}
	others := map[string][]string{}
	for _, row := range readmeTable(t, section, "| message |") {
		require.Len(t, row, 3, "%q", row)
		msg := codeSpans(row[0])
		require.Len(t, msg, 1, "%q", row[0])
		fields, _, _ := strings.Cut(row[2], ":") // the fields, then what the line means
		others[msg[0]] = append([]string{"time", "level", "msg"}, codeSpans(fields)...)
	}

	var buf syncBuffer
	newReadmeServer(t, slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	written := map[string]bool{}
	seen := map[string]bool{}
	for _, l := range buf.lines(t) {
		msg, _ := l["msg"].(string)
		seen[msg] = true
		if msg != "request" {
			want, ok := others[msg]
			if assert.True(t, ok, "README's table of other lines has no %q: %v", msg, l) {
				keys := slices.Collect(maps.Keys(l))
				assert.ElementsMatch(t, want, keys, "README's fields of the %q line", msg)
			}
			continue
		}
		for k := range l {
			written[k] = true
			assert.True(t, fields[k], "the request line writes %q, which README's field table does not list: %v", k, l)
		}
	}
	for f := range fields {
		assert.True(t, written[f], "README lists the request log field %q, which no request line wrote", f)
	}
	for _, msg := range []string{"request", "request failed", "readiness: the database does not answer"} {
		assert.True(t, seen[msg], "no %q line was logged", msg)
	}
}
