package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHints_UnknownColumn: an unknown column gets a "did you mean" hint, as an unknown table does, wherever the
// request names it; a name close to no column gets none.
func TestHints_UnknownColumn(t *testing.T) {
	s := newServer(t)
	a := s.acmeApp()
	for _, tt := range []struct {
		name, method, path, body, code, hint string
	}{
		{"select", "GET", "/webpages_webpage" + q("select", "slugg,title"), "", "42703", "webpages_webpage.slug"},
		{"filter", "GET", "/webpages_webpage" + q("titel", "eq.x"), "", "42703", "webpages_webpage.title"},
		{"order", "GET", "/webpages_webpage" + q("order", "is_publishd.desc"), "", "42703", "webpages_webpage.is_published"},
		{"body", "POST", "/content_namespace", `{"slug":"x","nam":"X"}`, "PGRST204", "content_namespace.name"},
		{"columns", "POST", "/content_namespace" + q("columns", "slug,nmae"), `{"slug":"x","name":"X"}`, "PGRST204",
			"content_namespace.name"},
		{"nothing close", "GET", "/webpages_webpage" + q("select", "zzzzzz"), "", "42703", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(t, tt.method, tt.path, tt.body)
			r.requireStatus(t, http.StatusBadRequest)
			e := r.error(t)
			assert.Equal(t, tt.code, e.Code)
			if tt.hint == "" {
				assert.Nil(t, e.Hint)
				return
			}
			require.NotNil(t, e.Hint, "message %q", e.Message)
			assert.Equal(t, `Perhaps you meant to reference the column "`+tt.hint+`".`, *e.Hint)
		})
	}
	e := a.get(t, "/webpages_webpag").error(t)
	require.NotNil(t, e.Hint)
	assert.Equal(t, "Perhaps you meant the table 'public.webpages_webpage'", *e.Hint, "the table hint, by the same rule")
}

// TestBasePath_WithoutSlash: {base} serves what {base}/ serves, the OpenAPI document, and refuses alike.
func TestBasePath_WithoutSlash(t *testing.T) {
	s := newServer(t)
	slash := s.acmeApp().get(t, "/")
	slash.requireStatus(t, http.StatusOK)
	bare := s.acmeApp().get(t, "")
	bare.requireStatus(t, http.StatusOK)
	assert.Equal(t, slash.Header.Get("Content-Type"), bare.Header.Get("Content-Type"))
	assert.JSONEq(t, string(slash.Body), string(bare.Body))

	anon := s.as("", "acme")
	assert.Equal(t, anon.get(t, "/").Body, anon.get(t, "").Body, "refused alike")
	assert.Equal(t, http.StatusUnauthorized, anon.get(t, "").Status)
	assert.Equal(t, http.StatusMethodNotAllowed, s.acmeApp().do(t, http.MethodPost, "", `{}`).Status)
}

// TestBearer_RegistryToken: a registry token sent as Bearer (the JWT scheme, what postgrest-js and most
// clients send) is refused like any bad credential, 401 PGT002, with a hint to send it as Token; a Bearer value
// that is no registry token gets no such hint.
func TestBearer_RegistryToken(t *testing.T) {
	s := newServer(t)
	anon := s.as("", "acme")
	r := anon.get(t, "/content_language", "Authorization: Bearer "+s.tokAcme)
	r.requireStatus(t, http.StatusUnauthorized)
	e := r.error(t)
	assert.Equal(t, "PGT002", e.Code)
	require.NotNil(t, e.Hint)
	assert.Contains(t, *e.Hint, "Authorization: Token pgt_")

	r = anon.get(t, "/content_language", "Authorization: Bearer not-a-jwt-and-no-token")
	r.requireStatus(t, http.StatusUnauthorized)
	if h := r.error(t).Hint; h != nil {
		assert.NotContains(t, *h, "Token pgt_")
	}
	anon.get(t, "/content_language", "Authorization: Token "+s.tokAcme).requireStatus(t, http.StatusOK)
}

// TestTenantHeader_LetterCase pins what README "HTTP API" says: a UUID matches in any letter case, an identifier
// only as registered (identifiers are lower-case; any other spelling is malformed, 400 PGT013).
func TestTenantHeader_LetterCase(t *testing.T) {
	s := newServer(t)
	for _, ref := range []string{s.acme.ID, strings.ToUpper(s.acme.ID), "acme"} {
		s.as(s.tokAcme, ref).get(t, "/content_language").requireStatus(t, http.StatusOK)
	}
	r := s.as(s.tokAcme, "ACME").get(t, "/content_language")
	r.requireStatus(t, http.StatusBadRequest)
	assert.Equal(t, "PGT013", r.error(t).Code)
}
