package httpcheck_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/verify"
	"pgtenant/engine/verify/httpcheck"
	"pgtenant/schema"
)

// declared is the repository's declaration: the checks ask for its first tenant table.
func declared(t *testing.T) *schema.Model {
	t.Helper()
	m, _, diags := schema.Load("../../../policies.hcl")
	require.False(t, diags.HasErrors(), diags.Error())
	return m
}

// TestServer checks the server check's verdicts on fake APIs (the real server is checked through
// `pgtenant verify --server` in cmd/pgtenant): the fake answers a request by whether it carries the tenant header
// and which tenant it names.
func TestServer(t *testing.T) {
	t.Parallel()
	m := declared(t)
	tests := []struct {
		name   string
		answer func(tenant string) (int, string)
		ok     bool
		want   string
	}{
		{"refuses alike", func(tenant string) (int, string) {
			if tenant == "" {
				return 403, `{"code":"PGT010"}`
			}
			return 401, `{"code":"PGT002"}`
		}, true, "no header: 403 PGT010; two unknown tenants: 401 PGT002, identical"},
		{"serves without a tenant", func(string) (int, string) { return 200, `[]` }, false,
			"a request without the X-Tenant-ID header got 200, not 403"},
		{"tells tenants apart", func(tenant string) (int, string) {
			if tenant == "" {
				return 403, `{"code":"PGT010"}`
			}
			return 403, fmt.Sprintf(`{"code":"PGT011","message":"no tenant %s"}`, tenant)
		}, false, "two unknown tenants got different answers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				code, body := tt.answer(r.Header.Get("X-Tenant-ID"))
				w.WriteHeader(code)
				_, _ = w.Write([]byte(body))
			}))
			defer api.Close()
			r := httpcheck.Server(t.Context(), httpcheck.Config{BaseURL: api.URL + "/api/v1", Declared: m})
			assert.Equal(t, verify.CheckServer, r.Name)
			assert.Equal(t, tt.ok, r.OK, r.Detail)
			assert.Contains(t, r.Detail, tt.want)
		})
	}

	r := httpcheck.Server(t.Context(), httpcheck.Config{BaseURL: "localhost:3000", Declared: m})
	assert.False(t, r.OK)
	assert.Contains(t, r.Detail, "is not an http(s) URL")
}

// TestMonitoring checks the admin listener check on fake admin listeners.
func TestMonitoring(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		metrics, ready string
		readyStatus    int
		ok             bool
		want           string
	}{
		{"ready", "# HELP x\npgtenant_build_info{version=\"v\"} 1\n", `{"status":"ok"}`, 200, true, "/readyz is ready"},
		{"no pgtenant series", "go_goroutines 7\n", `{"status":"ok"}`, 200, false, "without pgtenant's series"},
		{"draining", "\npgtenant_build_info{} 1\n", `{"status":"unavailable","reason":"draining"}`, 503, false,
			"got 503 unavailable draining"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/metrics":
					_, _ = w.Write([]byte(tt.metrics))
				case "/readyz":
					w.WriteHeader(tt.readyStatus)
					_, _ = w.Write([]byte(tt.ready))
				default:
					http.NotFound(w, r)
				}
			}))
			defer admin.Close()
			r := httpcheck.Monitoring(t.Context(), admin.URL)
			assert.Equal(t, verify.CheckMonitoring, r.Name)
			assert.Equal(t, tt.ok, r.OK, r.Detail)
			assert.Contains(t, r.Detail, tt.want)
		})
	}
}
