package httpapi_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/httpapi"
	"pgtenant/engine/pgtx"
	"pgtenant/engine/tenant"
	"pgtenant/schema"
)

// panicRunner panics in every statement: a bug below the handler.
type panicRunner struct{ fakeRunner }

func (panicRunner) QueryRow(context.Context, pgtx.Scope, func(pgx.Row) error, string, ...any) error {
	panic("a bug")
}

func (panicRunner) Query(context.Context, pgtx.Scope, func(pgx.Rows) error, string, ...any) error {
	panic("a bug")
}

// TestPanic_LoggedAndCounted: a request whose handler panics gets the generic 500, and like every request it
// writes its one `request` line and counts in the request metrics.
func TestPanic_LoggedAndCounted(t *testing.T) {
	m, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors(), diags.Error())
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	resolver := tenant.NewResolver(fakeRegistry{}, tenant.Config{Header: m.Tenancy.Header, Require: true, TTL: time.Hour})
	s := httpapi.New(httpapi.Config{BasePath: "/api/v1", Tenancy: m.Tenancy, Roles: m.Roles, Runner: panicRunner{},
		Resolver: resolver, MaxRows: 1000, StatementTimeout: time.Second, Metrics: reg,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))}, m)

	r := httptest.NewRequest(http.MethodGet, "/api/v1/webpages_webpage?id=eq."+benchPage, nil)
	r.Header.Set("Authorization", "Token "+benchToken)
	r.Header.Set("X-Tenant-ID", "t100")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)

	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Contains(t, w.Body.String(), `"code":"PGT500"`)
	assert.Contains(t, logs.String(), `"msg":"panic"`)
	var line string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `"msg":"request"`) {
			line = l
		}
	}
	require.NotEmpty(t, line, "the panicking request writes its request line:\n%s", logs.String())
	assert.Contains(t, line, `"status":500`)
	n, err := testutil.GatherAndCount(reg, "pgtenant_http_requests_total")
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the request is counted")
}
