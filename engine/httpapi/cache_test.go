package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// vary is every name the Vary headers of r list, in order.
func vary(r response) []string {
	var out []string
	for _, v := range r.Header.Values("Vary") {
		for n := range strings.SplitSeq(v, ",") {
			out = append(out, strings.TrimSpace(n))
		}
	}
	return out
}

// TestCacheHeaders: every answer of the API, which carries one tenant's data or a refusal about it, tells caches
// not to keep it (Cache-Control: private, no-store by default, or the configured value) and names in Vary every
// request header the answer depends on, next to the Origin that CORS adds.
func TestCacheHeaders(t *testing.T) {
	e := newEnv(t)
	const origin = "https://app.example.com"
	s := e.start(t, serverOpts{corsOrigins: []string{origin}})
	site := s.acmeApp().seed(t, "Acme")
	wantVary := []string{"Authorization", tenantHeader, "Accept", "Prefer", "Range"}

	tests := []struct {
		name   string
		do     func(t *testing.T) response
		status int
	}{
		{"read", func(t *testing.T) response { return s.acmeApp().get(t, "/webpages_webpage"+q("select", "slug")) }, http.StatusOK},
		{"head", func(t *testing.T) response { return s.acmeApp().do(t, http.MethodHead, "/webpages_webpage", "") }, http.StatusOK},
		{"csv", func(t *testing.T) response { return s.acmeApp().get(t, "/webpages_webpage", "Accept: text/csv") }, http.StatusOK},
		{"singular", func(t *testing.T) response {
			return s.acmeApp().get(t, "/webpages_webpage"+q("slug", "eq.home"), "Accept: application/vnd.pgrst.object+json")
		}, http.StatusOK},
		{"insert with representation", func(t *testing.T) response {
			return s.acmeApp().do(t, http.MethodPost, "/webpages_pagetheme", `{"name":"cache-theme"}`, "Prefer: return=representation")
		}, http.StatusCreated},
		{"update without a body", func(t *testing.T) response {
			return s.acmeApp().do(t, http.MethodPatch, "/webpages_webpage"+q("id", "eq."+site.pages["home"]), `{"title":"Home!"}`)
		}, http.StatusNoContent},
		{"the OpenAPI document", func(t *testing.T) response { return s.acmeApp().get(t, "/") }, http.StatusOK},
		{"a refusal", func(t *testing.T) response { return s.as(s.tokAcme, "globex").get(t, "/webpages_webpage") }, http.StatusForbidden},
		{"no credential", func(t *testing.T) response { return s.as("", "acme").get(t, "/webpages_webpage") }, http.StatusUnauthorized},
		{"an unknown table", func(t *testing.T) response { return s.acmeApp().get(t, "/no_such_table") }, http.StatusNotFound},
		{"a CORS read", func(t *testing.T) response { return s.acmeApp().get(t, "/webpages_webpage", "Origin: "+origin) }, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.do(t)
			assert.Equal(t, tt.status, r.Status, "%s", r.Body)
			assert.Equal(t, []string{"private, no-store"}, r.Header.Values("Cache-Control"))
			got := vary(r)
			for _, h := range wantVary {
				assert.Contains(t, got, h)
			}
			if tt.name == "a CORS read" {
				assert.Contains(t, got, "Origin", "CORS's Vary is kept")
			}
		})
	}

	t.Run("configured", func(t *testing.T) {
		s := e.start(t, serverOpts{cacheControl: "no-store, max-age=0"})
		r := s.acmeApp().get(t, "/webpages_webpage")
		assert.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, []string{"no-store, max-age=0"}, r.Header.Values("Cache-Control"))
		assert.Subset(t, vary(r), wantVary)
	})
}
