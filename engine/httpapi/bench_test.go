package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"pgtenant/engine/httpapi"
	"pgtenant/engine/pgtx"
	"pgtenant/engine/query"
	"pgtenant/engine/tenant"
	"pgtenant/schema"
)

// The benchmarks below measure request handling without the database: the
// whole handler chain (request id, log line, metrics, router, credential
// and tenant from the caches, the grammar, the SQL, the response), with a
// fake Runner that answers at once with a prebuilt result, and a fake
// registry that the resolver reads once and then caches. What they leave
// out, the network and PostgreSQL, make bench measures (internal/bench).
//
//	go test -run '^$' -bench . -benchmem ./engine/httpapi

const (
	benchTenant = "00000000-0000-4000-a000-000000000100"
	benchPage   = "00000100-0000-4000-8000-000000001000"
)

var benchToken = madeUpToken("bench")

var benchRow = []byte(`{"tenant_id":"` + benchTenant + `","id":"` + benchPage + `","namespace_id":"00000100-0000-4000-9000-000000000001",` +
	`"category_id":null,"theme_id":null,"hero_media_id":null,"slug":"page-1000","title":"Page 1000 of tenant 100",` +
	`"body":"Lorem ipsum dolor sit amet, consectetur adipiscing elit.","is_published":true,` +
	`"published_at":"2024-01-01T16:40:00+00:00","created_at":"2024-01-01T00:00:00+00:00","updated_at":"2024-01-01T00:00:00+00:00"}`)

// fakeRegistry is a fake tenant.Store: one tenant, one token.
type fakeRegistry struct{}

func (fakeRegistry) Tenants(context.Context) ([]tenant.Tenant, error) {
	return []tenant.Tenant{{ID: benchTenant, Identifier: "t100", Name: "Bench", Active: true}}, nil
}

func (fakeRegistry) Credential(_ context.Context, hash []byte) (*tenant.Credential, error) {
	if !bytes.Equal(hash, tenant.HashToken(benchToken)) {
		return nil, nil
	}
	return &tenant.Credential{ID: "1", Name: "bench", Role: "app", Tenants: []string{benchTenant}}, nil
}

// fakeRunner is a fake httpapi.Runner: every statement returns rows rows of
// benchRow (QueryRow: one result row with them aggregated, as PostgreSQL
// would build it).
type fakeRunner struct{ rows int }

func (f fakeRunner) QueryRow(_ context.Context, _ pgtx.Scope, scan func(pgx.Row) error, _ string, _ ...any) error {
	body := benchRow
	if f.rows != 1 {
		body = []byte("[" + strings.Repeat(string(benchRow)+",", f.rows)[:f.rows*(len(benchRow)+1)-1] + "]")
	}
	return scan(resultRow{query.Result{PageTotal: int64(f.rows), Body: body}})
}

func (f fakeRunner) Query(_ context.Context, _ pgtx.Scope, fn func(pgx.Rows) error, _ string, _ ...any) error {
	return fn(&fakeRows{n: f.rows})
}

func (fakeRunner) Tx(context.Context, pgtx.Scope, func(context.Context, pgx.Tx) (bool, error)) error {
	return errors.New("bench: no explicit transactions")
}

// resultRow scans a query.Result into the destinations of Result.Dest.
type resultRow struct{ res query.Result }

func (r resultRow) Scan(dest ...any) error {
	*dest[0].(**int64) = r.res.Total
	*dest[1].(*int64) = r.res.PageTotal
	*dest[2].(*int64) = r.res.Inserted
	*dest[3].(*[]byte) = r.res.Body
	return nil
}

// fakeRows are the rows of query.RowsSQL: page_total, body.
type fakeRows struct{ n, i int }

func (r *fakeRows) Close()                                       {}
func (r *fakeRows) Err() error                                   { return nil }
func (r *fakeRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (r *fakeRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (r *fakeRows) Next() bool                                   { r.i++; return r.i <= r.n }
func (r *fakeRows) Values() ([]any, error)                       { return []any{int64(r.n), string(benchRow)}, nil }
func (r *fakeRows) RawValues() [][]byte                          { return [][]byte{nil, benchRow} }
func (r *fakeRows) Conn() *pgx.Conn                              { return nil }
func (r *fakeRows) TypeMap() *pgtype.Map                         { return nil }
func (r *fakeRows) Scan(dest ...any) error {
	*dest[0].(*int64) = int64(r.n)
	return nil
}

// sink is a ResponseWriter that keeps only the status.
type sink struct {
	h      http.Header
	status int
}

func (s *sink) Header() http.Header         { return s.h }
func (s *sink) WriteHeader(code int)        { s.status = code }
func (s *sink) Write(b []byte) (int, error) { return len(b), nil }

// newBenchServer serves policies.hcl's tables over run, with the fake
// registry.
func newBenchServer(tb testing.TB, run httpapi.Runner) *httpapi.Server {
	tb.Helper()
	m, _, diags := schema.Load("../../policies.hcl")
	if diags.HasErrors() {
		tb.Fatal(diags.Error())
	}
	resolver := tenant.NewResolver(fakeRegistry{}, tenant.Config{Header: m.Tenancy.Header, Require: true, TTL: time.Hour})
	return httpapi.New(httpapi.Config{BasePath: "/api/v1", Tenancy: m.Tenancy, Roles: m.Roles,
		Runner: run, Resolver: resolver, MaxRows: 100000, StatementTimeout: 10 * time.Second}, m)
}

func benchRequest(b *testing.B, rows int, method, target, body string, status int, headers ...string) {
	b.Helper()
	s := newBenchServer(b, fakeRunner{rows: rows})
	r, err := http.NewRequest(method, "http://localhost/api/v1/webpages_webpage"+target, nil)
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("Authorization", "Token "+benchToken)
	r.Header.Set("X-Tenant-ID", "t100")
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		r.Header.Set(k, v)
	}
	w := &sink{h: http.Header{}}
	serve := func() {
		clear(w.h)
		w.status = 0
		if body != "" {
			r.Body = io.NopCloser(strings.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		s.ServeHTTP(w, r)
	}
	serve() // the caches fill
	if w.status != status {
		b.Fatalf("status %d, want %d", w.status, status)
	}
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}

// Scenario 1 of make bench.
func BenchmarkHandle_GetOne(b *testing.B) {
	benchRequest(b, 1, http.MethodGet, "?id=eq."+benchPage, "", http.StatusOK, "Accept: application/vnd.pgrst.object+json")
}

// Scenario 2: 20 rows, streamed.
func BenchmarkHandle_GetList(b *testing.B) {
	benchRequest(b, 20, http.MethodGet, "?select=id,slug,title,published_at&is_published=eq.true&order=published_at.desc&limit=20",
		"", http.StatusOK)
}

// Scenario 7: scenario 2's list with a to-one and a many-to-many embed (the
// fake runner's rows are scenario 2's: this measures the request's parsing
// and SQL, not the bigger rows).
func BenchmarkHandle_GetEmbed(b *testing.B) {
	benchRequest(b, 20, http.MethodGet, "?select=id,slug,title,published_at,webpages_pagetheme(name),content_tag(name)"+
		"&is_published=eq.true&order=published_at.desc&limit=20", "", http.StatusOK)
}

// Scenario 3: 20 rows aggregated, with a count.
func BenchmarkHandle_GetListCount(b *testing.B) {
	benchRequest(b, 20, http.MethodGet, "?select=id,slug,title,published_at&is_published=eq.true&order=published_at.desc&limit=20",
		"", http.StatusOK, "Prefer: count=exact")
}

// Scenario 4.
func BenchmarkHandle_Post(b *testing.B) {
	benchRequest(b, 1, http.MethodPost, "", `{"namespace_id":"00000100-0000-4000-9000-000000000001","slug":"bench",`+
		`"title":"Posted","body":"A page posted by the benchmark."}`, http.StatusCreated, "Content-Type: application/json")
}

// Scenario 5.
func BenchmarkHandle_Patch(b *testing.B) {
	benchRequest(b, 1, http.MethodPatch, "?id=eq."+benchPage, `{"title":"Patched"}`, http.StatusNoContent,
		"Content-Type: application/json")
}

// Scenario 6: 10,000 rows, streamed.
func BenchmarkHandle_GetBig(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchRequest(b, n, http.MethodGet, "?select=*&order=id&limit="+fmt.Sprint(n), "", http.StatusOK)
		})
	}
}
