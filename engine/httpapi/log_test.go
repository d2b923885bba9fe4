package httpapi_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// lines returns the JSON log lines written so far, and forgets them.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		out = append(out, m)
	}
	b.b.Reset()
	return out
}

// TestRequestLog checks the one log line per request (DESIGN.md §8, STYLE.md
// §5): the route template, never the raw path or query; who the caller is;
// refusals at warn; no row data and no bind values.
func TestRequestLog(t *testing.T) {
	var buf syncBuffer
	e := newEnv(t)
	s := e.start(t, serverOpts{logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	a := s.acmeApp()
	a.seed(t, "Acme")
	buf.lines(t)

	tests := []struct {
		name   string
		c      client
		method string
		path   string
		body   string
		level  string
		route  string
		status float64
		tenant bool // the line names the tenant and the credential
	}{
		{"read", a, "GET", "/webpages_webpage" + q("slug", "eq.secret-slug"), "", "INFO", "/api/v1/{table}", 200, true},
		{"write", a, "POST", "/webpages_webpage", `{"slug":"x"}`, "INFO", "/api/v1/{table}", 400, true},
		{"openapi", a, "GET", "/", "", "INFO", "/api/v1/", 200, true},
		{"refused tenant", s.as(s.tokAcme, "globex"), "GET", "/webpages_webpage", "", "WARN", "/api/v1/{table}", 403, false},
		{"no credential", s.as("", "acme"), "GET", "/webpages_webpage", "", "WARN", "/api/v1/{table}", 401, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.c.do(t, tt.method, tt.path, tt.body, "X-Request-ID: log-"+strings.ReplaceAll(tt.name, " ", "-"))
			require.Equal(t, int(tt.status), r.Status, "%s", r.Body)
			lines := buf.lines(t)
			require.Len(t, lines, 1, "one line per request")
			l := lines[0]
			assert.Equal(t, tt.level, l["level"])
			assert.Equal(t, tt.route, l["route"], "the route template")
			assert.Equal(t, tt.status, l["status"])
			assert.Equal(t, tt.method, l["method"])
			assert.Equal(t, r.Header.Get("X-Request-ID"), l["request_id"])
			if tt.tenant {
				assert.Equal(t, s.acme.ID, l["tenant"])
				assert.Equal(t, "acme", l["credential"])
			} else {
				assert.NotContains(t, l, "tenant")
				assert.NotEmpty(t, l["refusal"])
			}
			raw, _ := json.Marshal(l)
			assert.NotContains(t, string(raw), "secret-slug", "no query string or bind value in the log")
		})
	}
}
