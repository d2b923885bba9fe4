package httpapi_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/httpapi"
	"pgtenant/engine/introspect"
	"pgtenant/engine/pgtx"
	"pgtenant/engine/registry"
	"pgtenant/engine/tenant"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

const (
	basePath     = "/api/v1"
	tenantHeader = "X-Tenant-ID"
	// The limits the test servers run with: small, so that exceeding them is cheap.
	maxBodyBytes = 64 << 10
	maxURLBytes  = 4 << 10
)

// env is one test database with the registry filled in: two active tenants
// (acme, globex), an inactive one (sleepy), and tokens for them.
type env struct {
	db       *pgtest.DB
	admin    *pgxpool.Pool // the superuser: to inspect what was written, whatever RLS would show
	url      string        // the login holding app and reader that servers connect as
	declared *schema.Model

	acme, globex, sleepy tenant.Tenant
	// Tokens: one per tenant (role app), one for both, one for sleepy, and a
	// reader token for acme.
	tokAcme, tokGlobex, tokBoth, tokSleepy, tokReader string
}

// newEnv makes a fresh migrated database and the registry entries.
func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, pgtest.New(t))
}

// newEnvOn is newEnv on db, a fresh migrated database: one on a private
// server (pgtest.NewPrivate), for a test that stops PostgreSQL.
func newEnvOn(t *testing.T, db *pgtest.DB) *env {
	t.Helper()
	declared, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors(), "%s", diags)
	return newEnvFor(t, db, declared)
}

// newEnvFor is newEnvOn for a database migrated from declared: the login holds
// its roles, and the reader token is made only when it declares a role
// reader.
func newEnvFor(t *testing.T, db *pgtest.DB, declared *schema.Model) *env {
	t.Helper()
	ctx := t.Context()
	var roles []string
	for _, r := range declared.Roles {
		roles = append(roles, r.Name)
	}
	e := &env{db: db, url: db.LoginURL(t, roles...), declared: declared}
	var err error
	e.admin, err = pgxpool.New(ctx, db.AdminURL)
	require.NoError(t, err)
	t.Cleanup(e.admin.Close)

	mk := func(identifier string) tenant.Tenant {
		tn, err := registry.CreateTenant(ctx, db.Owner, identifier, strings.ToUpper(identifier), "httpapi-test")
		require.NoError(t, err)
		return tn
	}
	e.acme, e.globex, e.sleepy = mk("acme"), mk("globex"), mk("sleepy")
	_, err = db.Owner.Exec(ctx, "UPDATE pgtenant.tenants SET is_active = false WHERE id = $1", e.sleepy.ID)
	require.NoError(t, err)
	e.sleepy.Active = false

	tok := func(name, role string, tenants ...string) string {
		token, _, err := registry.CreateToken(ctx, db.Owner, name, role, tenants)
		require.NoError(t, err)
		return token
	}
	e.tokAcme = tok("acme", "app", "acme")
	e.tokGlobex = tok("globex", "app", "globex")
	e.tokBoth = tok("both", "app", "acme", "globex")
	e.tokSleepy = tok("sleepy", "app", "sleepy")
	if slices.ContainsFunc(declared.Roles, func(r *schema.Role) bool { return r.Name == "reader" }) {
		e.tokReader = tok("reader", "reader", "acme")
	}
	return e
}

// serverOpts changes how a test server is built.
type serverOpts struct {
	corsOrigins  []string
	maxConns     int32
	maxRows      int
	logger       *slog.Logger
	captureSQL   bool // keep the SQL text of every statement in server.statements
	rateLimit    httpapi.RateLimit
	authFailures httpapi.AuthFailureLimit
	slowRequest  time.Duration
	// cacheControl is Config.CacheControl; empty: the default.
	cacheControl string

	// poolURL, when set, is where the pool connects instead of env.url (PgBouncer's), and execMode, when not
	// 0, replaces pgx's default exec mode.
	poolURL  string
	execMode pgx.QueryExecMode

	// cancelDelay, when set, makes the pool's cancel requests reach PostgreSQL that much later
	// (pgtest.LateCancels); statementTimeout replaces the 10s STATEMENT_TIMEOUT.
	cancelDelay      time.Duration
	statementTimeout time.Duration
	// requestTimeout is Config.RequestTimeout; 0: none.
	requestTimeout time.Duration
	// writeTimeout and spoolDir are Config.WriteTimeout and Config.SpoolDir.
	writeTimeout time.Duration
	spoolDir     string
}

// server is one httpapi.Server behind httptest, with its own pool, whose
// statements and wire round trips are counted.
type server struct {
	*env
	api   *httpapi.Server
	ts    *httptest.Server
	reg   *prometheus.Registry // the server's metrics, with the pool's
	http  *http.Client         // keeps enough idle connections for the concurrency test
	pool  *pgxpool.Pool
	model *schema.Model
	// queries counts what the pool's tracer sees: TraceQueryStart and
	// TraceBatchStart (one per statement or batch sent).
	queries atomic.Int64
	// statements are the SQL texts the pool sent, batched ones included,
	// with serverOpts.captureSQL.
	statements tracedSQL
	// roundTrips counts the times a connection wrote after it had read:
	// every new exchange with PostgreSQL, whatever pgx sent.
	roundTrips atomic.Int64
}

// start builds a server as cmd/pgtenant's startServer does: the app login's
// pool, the introspected model, the registry store, the declared roles.
func (e *env) start(t *testing.T, o serverOpts) *server {
	t.Helper()
	s := &server{env: e}
	s.statements.on = o.captureSQL
	cfg, err := pgxpool.ParseConfig(cmp.Or(o.poolURL, e.url))
	require.NoError(t, err)
	if o.execMode != 0 {
		cfg.ConnConfig.DefaultQueryExecMode = o.execMode
	}
	pgtx.CloseOnContext(&cfg.ConnConfig.Config) // as cmd/pgtenant's startServer
	cfg.ConnConfig.Tracer = &tracer{n: &s.queries, sql: &s.statements}
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if o.cancelDelay > 0 {
			c = pgtest.LateCancels(c, o.cancelDelay)
		}
		return &countingConn{Conn: c, trips: &s.roundTrips, read: true}, nil
	}
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
	}
	s.pool, err = pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(s.pool.Close)

	tenancy := e.declared.Tenancy
	s.model, err = introspect.Load(t.Context(), s.pool, tenancy)
	require.NoError(t, err)
	resolver := tenant.NewResolver(registry.NewStore(s.pool), tenant.Config{Header: tenancy.Header, Require: true})
	s.reg = prometheus.NewRegistry()
	s.api = httpapi.New(httpapi.Config{
		Metrics: s.reg, PoolStats: s.pool.Stat, Ping: s.pool.Ping, RateLimit: o.rateLimit, SlowRequest: o.slowRequest,
		AuthFailures: o.authFailures, WriteTimeout: o.writeTimeout, SpoolDir: o.spoolDir, RequestTimeout: o.requestTimeout,
		BasePath: basePath, Tenancy: tenancy, Roles: e.declared.Roles, Runner: pgtx.New(s.pool), Resolver: resolver,
		MaxRows: o.maxRows, StatementTimeout: cmp.Or(o.statementTimeout, 10*time.Second), MaxBodyBytes: maxBodyBytes, MaxURLBytes: maxURLBytes,
		CORSOrigins: o.corsOrigins, Logger: o.logger, CacheControl: o.cacheControl,
	}, s.model)
	s.ts = httptest.NewServer(s.api)
	t.Cleanup(s.ts.Close)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	s.http = &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)
	return s
}

// newServer is newEnv and start with the defaults.
func newServer(t *testing.T) *server {
	t.Helper()
	return newEnv(t).start(t, serverOpts{})
}

// tracer counts statements and batches, and keeps their SQL text.
type tracer struct {
	n   *atomic.Int64
	sql *tracedSQL
}

// tracedSQL is the SQL texts a pool sent, in order.
type tracedSQL struct {
	on   bool // set before the pool is used
	mu   sync.Mutex
	sqls []string
}

func (ts *tracedSQL) add(sql string) {
	if !ts.on {
		return
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.sqls = append(ts.sqls, sql)
}

// since returns the texts sent after the first n, and how many there are.
func (ts *tracedSQL) since(n int) ([]string, int) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return slices.Clone(ts.sqls[n:]), len(ts.sqls)
}

func (c *tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	c.sql.add(d.SQL)
	return ctx
}

func (c *tracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *tracer) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.sql.add(d.SQL)
}
func (c *tracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// countingConn counts round trips on one connection: a write that follows a
// read starts a new one.
type countingConn struct {
	net.Conn
	trips *atomic.Int64
	mu    sync.Mutex
	read  bool // the last I/O was a read (true before the first write)
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if c.read {
		c.trips.Add(1)
		c.read = false
	}
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		c.read = true
		c.mu.Unlock()
	}
	return n, err
}

// client sends requests as one credential and tenant. An empty token or
// tenant leaves that header out.
type client struct {
	s      *server
	token  string
	tenant string
}

func (s *server) as(token, tenantRef string) client {
	return client{s: s, token: token, tenant: tenantRef}
}

// acmeApp and the others are the usual callers.
func (s *server) acmeApp() client   { return s.as(s.tokAcme, "acme") }
func (s *server) globexApp() client { return s.as(s.tokGlobex, "globex") }
func (s *server) reader() client    { return s.as(s.tokReader, "acme") }

// response is what came back, body read.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends method path (relative to the base path) with body (none when
// ""), and headers given as "Name: value" lines; a Content-Type of
// application/json is added to a request with a body unless one is given.
func (c client) do(t testing.TB, method, path, body string, headers ...string) response {
	t.Helper()
	r, err := c.try(t.Context(), method, path, body, headers...)
	require.NoError(t, err)
	return r
}

// try is do for goroutines other than the test's: it returns an error
// instead of failing the test.
func (c client) try(ctx context.Context, method, path, body string, headers ...string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.s.ts.URL+basePath+path, rd)
	if err != nil {
		return response{}, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Token "+c.token)
	}
	if c.tenant != "" {
		req.Header.Set(tenantHeader, c.tenant)
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return response{}, fmt.Errorf("header %q has no colon", h)
		}
		req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.s.send(req)
}

// send sends req and reads the whole response.
func (s *server) send(req *http.Request) (response, error) {
	resp, err := s.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

func send(t testing.TB, s *server, req *http.Request) response {
	t.Helper()
	r, err := s.send(req)
	require.NoError(t, err)
	return r
}

func (c client) get(t testing.TB, path string, headers ...string) response {
	t.Helper()
	return c.do(t, http.MethodGet, path, "", headers...)
}

// rows decodes a JSON array of objects.
func (r response) rows(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &out), "body %s", r.Body)
	require.NotNil(t, out, "body %s", r.Body)
	return out
}

// object decodes a JSON object.
func (r response) object(t testing.TB) map[string]any {
	t.Helper()
	var out map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &out), "body %s", r.Body)
	return out
}

// apiError is the error body of every 4xx and 5xx.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Details is the details when they are a string (or null); RawDetails is them as sent, also when they are
	// not (PGRST201's array of candidates).
	Details    *string         `json:"-"`
	RawDetails json.RawMessage `json:"details"`
	Hint       *string         `json:"hint"`
}

// error decodes an error body, checking that all four keys are present.
func (r response) error(t testing.TB) apiError {
	t.Helper()
	var keys map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.Body, &keys), "status %d body %q", r.Status, r.Body)
	for _, k := range []string{"code", "message", "details", "hint"} {
		assert.Contains(t, keys, k, "error body %s", r.Body)
	}
	var e apiError
	require.NoError(t, json.Unmarshal(r.Body, &e))
	if len(e.RawDetails) > 0 && e.RawDetails[0] == '"' {
		require.NoError(t, json.Unmarshal(e.RawDetails, &e.Details))
	}
	assert.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"), "Content-Type %q",
		r.Header.Get("Content-Type"))
	return e
}

// requireStatus fails with the body when the status is not want.
func (r response) requireStatus(t testing.TB, want int) response {
	t.Helper()
	require.Equal(t, want, r.Status, "body: %s", r.Body)
	return r
}

// col returns the values of key in rows, as strings, sorted.
func col(rows []map[string]any, key string) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		switch v := r[key].(type) {
		case string:
			out = append(out, v)
		case nil:
			out = append(out, "<null>")
		default:
			b, _ := json.Marshal(v)
			out = append(out, string(b))
		}
	}
	slices.Sort(out)
	return out
}

// mustJSON encodes v.
func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// insert POSTs rows (an object or an array) and returns what was inserted.
func (c client) insert(t testing.TB, table string, rows any) []map[string]any {
	t.Helper()
	r := c.do(t, http.MethodPost, "/"+table, mustJSON(t, rows), "Prefer: return=representation")
	r.requireStatus(t, http.StatusCreated)
	return r.rows(t)
}

// insertOne POSTs one row and returns it.
func (c client) insertOne(t testing.TB, table string, row map[string]any) map[string]any {
	t.Helper()
	out := c.insert(t, table, row)
	require.Len(t, out, 1)
	return out[0]
}

// pageSeed is the pages each tenant starts with (titles get the tenant's
// name in front).
var pageSeed = []map[string]any{
	{"slug": "home", "title": "Home", "body": "Welcome to the home page", "is_published": true,
		"published_at": "2026-01-01T00:00:00Z"},
	{"slug": "about", "title": "About us", "body": "Our shop sells cats and dogs", "is_published": true,
		"published_at": "2026-02-01T00:00:00Z"},
	{"slug": "draft", "title": "Draft", "body": nil, "is_published": false, "published_at": nil},
	{"slug": "blog", "title": "Blog", "body": "The cat sat on the mat", "is_published": false, "published_at": nil},
}

// site is what seed made for one tenant.
type site struct {
	namespace string            // the namespace id
	pages     map[string]string // slug → page id
	theme     string            // a theme id
}

// seed creates, through the API, a namespace, the pages of pageSeed and a
// theme for c's tenant.
func (c client) seed(t testing.TB, titlePrefix string) site {
	t.Helper()
	ns := c.insertOne(t, "content_namespace", map[string]any{"slug": "www", "name": titlePrefix + " site"})
	s := site{namespace: ns["id"].(string), pages: map[string]string{}}
	var rows []map[string]any
	for _, p := range pageSeed {
		row := map[string]any{"namespace_id": s.namespace}
		for k, v := range p {
			row[k] = v
		}
		row["title"] = titlePrefix + " " + p["title"].(string)
		rows = append(rows, row)
	}
	for _, p := range c.insert(t, "webpages_webpage", rows) {
		s.pages[p["slug"].(string)] = p["id"].(string)
	}
	th := c.insertOne(t, "webpages_pagetheme", map[string]any{"name": "dark",
		"settings": map[string]any{"color": "black", "size": 12, "tags": []string{"night", "calm"}}})
	s.theme = th["id"].(string)
	return s
}

// count returns the rows of table the superuser sees with filter (SQL), to
// check what was written whatever RLS would show.
func (e *env) count(t testing.TB, table, where string, args ...any) int {
	t.Helper()
	var n int
	q := "SELECT count(*) FROM public." + pgx.Identifier{table}.Sanitize()
	if where != "" {
		q += " WHERE " + where
	}
	require.NoError(t, e.admin.QueryRow(t.Context(), q, args...).Scan(&n))
	return n
}

// snapshot returns every row of table as JSON text, ordered, as the
// superuser sees it: to prove that a refused request changed nothing.
func (e *env) snapshot(t testing.TB, table string) string {
	t.Helper()
	return e.snapshotWhere(t, table, "true")
}

// snapshotWhere is snapshot of the rows matching where (SQL over x).
func (e *env) snapshotWhere(t testing.TB, table, where string, args ...any) string {
	t.Helper()
	var s string
	require.NoError(t, e.admin.QueryRow(t.Context(), "SELECT coalesce(json_agg(x ORDER BY x::text)::text, '[]') FROM public."+
		pgx.Identifier{table}.Sanitize()+" x WHERE "+where, args...).Scan(&s))
	return s
}

// q builds a query string from key, value pairs, encoded the way
// postgrest-js encodes it (URLSearchParams).
func q(pairs ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Add(pairs[i], pairs[i+1])
	}
	return "?" + v.Encode()
}

// knownBug skips a test that shows a bug of another package, unless
// PGTENANT_TEST_KNOWN_BUGS=1: the test is the bug report, ready to turn on
// once the bug is fixed.
func knownBug(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("PGTENANT_TEST_KNOWN_BUGS") != "1" {
		t.Skip("known bug: " + why + " (PGTENANT_TEST_KNOWN_BUGS=1 runs it)")
	}
}

// compactJSON normalises a JSON text for comparison.
func compactJSON(t testing.TB, s []byte) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, json.Compact(&b, s), "%s", s)
	return b.String()
}
