package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCORS: a browser app at an allowed origin can preflight and read
// Content-Range; other origins get no CORS headers, and a server without
// configured origins sends none at all.
func TestCORS(t *testing.T) {
	e := newEnv(t)
	const allowed, other = "https://app.example.com", "https://evil.example.com"
	s := e.start(t, serverOpts{corsOrigins: []string{allowed}})
	s.acmeApp().seed(t, "Acme")

	preflight := func(t *testing.T, s *server, origin, method, headers string) response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodOptions, s.ts.URL+basePath+"/webpages_webpage", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", method)
		req.Header.Set("Access-Control-Request-Headers", headers)
		return send(t, s, req)
	}
	const asked = "authorization,content-type,prefer,x-tenant-id"

	t.Run("preflight from an allowed origin", func(t *testing.T) {
		for _, method := range []string{"GET", "POST", "PATCH", "DELETE", "HEAD"} {
			r := preflight(t, s, allowed, method, asked)
			assert.True(t, r.Status >= 200 && r.Status < 300, "%s: status %d", method, r.Status)
			assert.Equal(t, allowed, r.Header.Get("Access-Control-Allow-Origin"), method)
			assert.Equal(t, method, r.Header.Get("Access-Control-Allow-Methods"), method)
			got := strings.ToLower(r.Header.Get("Access-Control-Allow-Headers"))
			for _, h := range strings.Split(asked, ",") {
				assert.Contains(t, got, h, method)
			}
			assert.Equal(t, "600", r.Header.Get("Access-Control-Max-Age"))
			assert.Contains(t, strings.Join(r.Header.Values("Vary"), ","), "Origin")
		}
	})
	t.Run("preflight asking for a header that is not allowed", func(t *testing.T) {
		r := preflight(t, s, allowed, "GET", "x-tenant-id,x-secret")
		assert.Empty(t, r.Header.Get("Access-Control-Allow-Origin"))
	})
	t.Run("preflight for a method that is not allowed", func(t *testing.T) {
		r := preflight(t, s, allowed, "PUT", "x-tenant-id")
		assert.Empty(t, r.Header.Get("Access-Control-Allow-Origin"))
	})
	t.Run("preflight from another origin", func(t *testing.T) {
		r := preflight(t, s, other, "GET", asked)
		assert.Empty(t, r.Header.Get("Access-Control-Allow-Origin"))
		assert.Empty(t, r.Header.Get("Access-Control-Allow-Methods"))
	})
	t.Run("get from an allowed origin exposes Content-Range", func(t *testing.T) {
		r := s.acmeApp().get(t, "/webpages_webpage"+q("select", "slug"), "Origin: "+allowed, "Prefer: count=exact")
		r.requireStatus(t, http.StatusOK)
		assert.Equal(t, allowed, r.Header.Get("Access-Control-Allow-Origin"))
		exposed := strings.ToLower(r.Header.Get("Access-Control-Expose-Headers"))
		assert.Contains(t, exposed, "content-range")
		assert.Equal(t, "0-3/4", r.Header.Get("Content-Range"))
	})
	t.Run("errors from an allowed origin carry CORS headers too", func(t *testing.T) {
		r := s.as(s.tokAcme, "globex").get(t, "/webpages_webpage", "Origin: "+allowed)
		r.requireStatus(t, http.StatusForbidden)
		assert.Equal(t, allowed, r.Header.Get("Access-Control-Allow-Origin"))
	})
	t.Run("get from another origin", func(t *testing.T) {
		r := s.acmeApp().get(t, "/webpages_webpage", "Origin: "+other)
		r.requireStatus(t, http.StatusOK)
		assert.Empty(t, r.Header.Get("Access-Control-Allow-Origin"))
		assert.Empty(t, r.Header.Get("Access-Control-Expose-Headers"))
	})
	t.Run("no origins configured: no CORS at all", func(t *testing.T) {
		plain := e.start(t, serverOpts{})
		r := preflight(t, plain, allowed, "GET", asked)
		assert.Empty(t, r.Header.Get("Access-Control-Allow-Origin"))
		assert.Empty(t, r.Header.Get("Access-Control-Allow-Methods"))
		assert.Empty(t, r.Header.Get("Access-Control-Allow-Headers"))
		r = plain.acmeApp().get(t, "/webpages_webpage", "Origin: "+allowed)
		r.requireStatus(t, http.StatusOK)
		for k := range r.Header {
			assert.False(t, strings.HasPrefix(k, "Access-Control-"), "header %s", k)
		}
	})
	t.Run("a wildcard origin", func(t *testing.T) {
		wild := e.start(t, serverOpts{corsOrigins: []string{"*"}})
		r := preflight(t, wild, other, "PATCH", asked)
		assert.True(t, r.Status >= 200 && r.Status < 300, "status %d", r.Status)
		assert.Equal(t, "*", r.Header.Get("Access-Control-Allow-Origin"))
	})
}
